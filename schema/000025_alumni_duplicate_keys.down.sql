DROP TABLE alumni_duplicate_keys;
