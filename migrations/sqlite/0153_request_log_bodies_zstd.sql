-- A logged request body of 256 bytes or more is stored zstd-compressed here, with
-- `request_body` NULL (src/logs/mod.rs): a single send's body is as large as its email, whose
-- own copy is compressed. Rows written before keep their text in `request_body`.
ALTER TABLE request_logs ADD COLUMN request_body_zstd BLOB;
