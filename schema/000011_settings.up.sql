-- System settings, one row per setting, value as JSON. Names and types are defined in
-- internal/settings; a missing row means the default.
CREATE TABLE settings (
  name       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  value      JSON        NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  updated_by CHAR(26)    CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB;
