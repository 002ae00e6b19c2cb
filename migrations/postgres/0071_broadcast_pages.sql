-- The dashboard editor's state of a broadcast: Markdown or HTML mode, the Markdown source and
-- the styles (JSON) it renders with. The broadcast keeps the rendered HTML; a broadcast made
-- through the API has no row.
CREATE TABLE broadcast_designs (
    broadcast_id TEXT PRIMARY KEY REFERENCES broadcasts(id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    markdown TEXT,
    styles TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A contact's broadcast emails, for its history.
CREATE INDEX emails_contact ON emails (contact_id, created_at) WHERE contact_id IS NOT NULL;
