DROP TABLE alumni_tags;
