-- Free labels used to build segments (volunteer, donor, board...).
CREATE TABLE alumni_tags (
  alumnus_id BIGINT      NOT NULL,
  tag        VARCHAR(50) NOT NULL,
  PRIMARY KEY (alumnus_id, tag),
  KEY ix_alumni_tags_tag (tag, alumnus_id),
  CONSTRAINT fk_alumni_tags_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
