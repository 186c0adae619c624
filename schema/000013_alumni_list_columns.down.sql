ALTER TABLE alumni
  DROP KEY ix_alumni_city,
  DROP KEY ix_alumni_employer,
  DROP KEY ix_alumni_industry,
  DROP KEY ix_alumni_updated,
  DROP KEY ix_alumni_class_year,
  DROP COLUMN class_year;
