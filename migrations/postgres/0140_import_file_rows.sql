-- The number of records after the header of an upload, counted as it is stored, for the
-- dashboard's review step before an import starts (NULL for uploads made before this).
ALTER TABLE contact_imports ADD COLUMN file_rows BIGINT;
