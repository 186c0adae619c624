DROP TABLE alumni;
