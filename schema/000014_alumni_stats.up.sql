-- Counts of records by value, for analytics and facets without scanning a million rows.
-- Maintained in the transaction that writes the records (internal/alumni/stats.go); rebuilt by
-- `alumnid reindex`. consent: the records of alumni who consented to the directory (a viewer
-- counts only those where contact details show); listed: those in the directory (consented,
-- not deceased), all an alumnus counts.
-- The value collation is the alumni table's, so counts group like GROUP BY on the records.
CREATE TABLE alumni_stats (
  dim     VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  value   VARCHAR(220) NOT NULL,
  deleted BOOLEAN      NOT NULL,
  consent BOOLEAN      NOT NULL,
  listed  BOOLEAN      NOT NULL,
  n       BIGINT       NOT NULL,
  PRIMARY KEY (dim, value, deleted, consent, listed)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
