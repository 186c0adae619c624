-- The search index moved into each replica's memory (internal/searchindex, docs/SEARCH.md):
-- it is loaded from the records at start and follows their changes through the audit trail.
-- The words table is no longer read or written.
DROP TABLE alumni_terms;
