DROP TABLE alumni_terms;
