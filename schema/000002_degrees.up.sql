-- Several degrees per person; exactly one is primary. position keeps the order the office entered.
CREATE TABLE degrees (
  id                   BIGINT       NOT NULL AUTO_INCREMENT,
  alumnus_id           BIGINT       NOT NULL,
  position             SMALLINT     NOT NULL,
  degree               VARCHAR(100) NOT NULL,
  program              VARCHAR(150) NOT NULL,
  faculty              VARCHAR(150) NULL,
  graduation_year      SMALLINT     NOT NULL,
  preferred_class_year SMALLINT     NULL,
  is_primary           BOOLEAN      NOT NULL DEFAULT FALSE,
  PRIMARY KEY (id),
  UNIQUE KEY uq_degrees_position (alumnus_id, position),
  KEY ix_degrees_year (graduation_year, alumnus_id),
  KEY ix_degrees_program (program, graduation_year, alumnus_id),
  KEY ix_degrees_faculty (faculty, graduation_year, alumnus_id),
  CONSTRAINT fk_degrees_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
