DROP TABLE duplicate_work;
DROP TABLE duplicate_pairs;
