-- The large values (email bodies and attachments, logged request bodies, import and export
-- chunks) are compressed with lz4 instead of PostgreSQL's default pglz. Measured on a 50 KB
-- html body: pglz costs the server 0.9-1.8 ms of CPU per email, about as much as everything
-- Herald does to send it; lz4 0.3 ms, and it stored these bodies no larger (docs/performance.md).
-- lz4 needs PostgreSQL 14+ built with lz4 (Debian's packages and the official images are);
-- elsewhere the columns keep pglz and the migration only says so.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE emails ALTER COLUMN html SET COMPRESSION lz4, '
         || 'ALTER COLUMN text SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE email_attachments ALTER COLUMN content SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE request_logs ALTER COLUMN request_body SET COMPRESSION lz4, '
         || 'ALTER COLUMN response_body SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE contact_import_chunks ALTER COLUMN data SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE export_chunks ALTER COLUMN data SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 compression is not available (%); large values keep pglz', SQLERRM;
END
$$;
