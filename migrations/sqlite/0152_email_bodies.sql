-- An email's html and text, packed together and zstd-compressed (src/emails/body.rs), in a
-- table of their own: written once, never updated. (In a column of `emails`, PostgreSQL
-- would copy them with every new version of the row: its status changes two or three times.)
-- When an email has a row here, its `html` and `text` are NULL; emails without one (small
-- content, or accepted before 0152) keep their content in `html` and `text`.
CREATE TABLE email_bodies (
    email_id TEXT PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,
    body_zstd BLOB NOT NULL
);
