-- PostgreSQL only: its large values are compressed with lz4 instead of pglz (see
-- migrations/postgres/0151_lz4_compression.sql). SQLite does not compress values.
SELECT 1;
