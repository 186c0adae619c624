DROP TABLE alumni_stats;
