-- Sort and filter support for lists on a million records: the class year (graduation year of
-- the primary degree, 0 without degrees) kept on the record, and an index per sort and per
-- equality filter that ends in the name order, so a filtered page in name order is an index
-- range, not a sort.
ALTER TABLE alumni
  ADD COLUMN class_year SMALLINT NOT NULL DEFAULT 0 AFTER status,
  ADD KEY ix_alumni_class_year (class_year, last_name, first_name, public_id),
  ADD KEY ix_alumni_updated (updated_at, public_id),
  ADD KEY ix_alumni_industry (industry, last_name, first_name, public_id),
  ADD KEY ix_alumni_employer (employer, last_name, first_name, public_id),
  ADD KEY ix_alumni_city (city, last_name, first_name, public_id);

UPDATE alumni a JOIN degrees d ON d.alumnus_id = a.id AND d.is_primary = TRUE
SET a.class_year = d.graduation_year;
