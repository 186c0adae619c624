DROP TABLE degrees;
