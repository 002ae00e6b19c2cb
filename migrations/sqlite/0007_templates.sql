-- Templates: a template row names the template and points at two versions of its content,
-- the current one (shown and edited) and the published one (used to send); they are the
-- same row until the template is edited after a publish. Same tables in the other backend's
-- file of this name.
CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    alias TEXT,
    -- draft | published
    status TEXT NOT NULL,
    current_version_id TEXT NOT NULL,
    published_version_id TEXT,
    published_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (team_id, alias)
);
CREATE INDEX templates_team ON templates (team_id, created_at, id);

CREATE TABLE template_versions (
    id TEXT PRIMARY KEY,
    template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    from_address TEXT,
    subject TEXT,
    -- JSON array of addresses (or texts with placeholders).
    reply_to TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT,
    -- JSON array of {id, key, type, fallback_value, created_at, updated_at}.
    variables TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX template_versions_template ON template_versions (template_id);

-- The template an email's content was rendered from (the content itself is stored whole).
ALTER TABLE emails ADD COLUMN template_id TEXT;
