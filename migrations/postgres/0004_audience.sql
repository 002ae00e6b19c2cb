-- Audience: contacts, their typed properties, segments, topics, each contact's history of
-- marketing interactions, and CSV imports. Same tables in the PostgreSQL file of this name.

-- Contacts are global per team and unique by lower-cased email.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    unsubscribed BOOLEAN NOT NULL DEFAULT FALSE,
    -- Custom property values: a JSON object keyed by property key.
    properties TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (team_id, email_lower)
);
-- Keyset pagination (newest first) over a team's contacts.
CREATE INDEX contacts_team ON contacts (team_id, created_at, id);

CREATE TABLE contact_properties (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    -- Case-sensitive: "plan" and "Plan" are two properties.
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    -- JSON value (string or number) or NULL.
    fallback_value TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, key)
);
CREATE INDEX contact_properties_team ON contact_properties (team_id, created_at, id);

-- Segments; the deprecated audiences are the same rows (they share ids).
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    audience_id TEXT,
    filter TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX segments_team ON segments (team_id, created_at, id);

CREATE TABLE contact_segments (
    segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX contact_segments_contact ON contact_segments (contact_id);

CREATE TABLE topics (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    default_subscription TEXT NOT NULL,
    visibility TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX topics_team ON topics (team_id, created_at, id);

-- A contact's explicit choice for a topic; without a row the topic's default applies.
CREATE TABLE contact_topics (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    topic_id TEXT NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
    subscription TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (contact_id, topic_id)
);
CREATE INDEX contact_topics_topic ON contact_topics (topic_id);

-- History of marketing interactions (segment added, topic changes, unsubscribes, and later
-- broadcasts sent/opened/clicked).
CREATE TABLE contact_events (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX contact_events_contact ON contact_events (contact_id, created_at, id);

-- CSV imports. The upload is kept in the database in chunks (so every node of a PostgreSQL
-- cluster can read it) until the import completes; `rows_done` and the counts are updated in
-- the same transaction as each batch of contacts, so a resumed import skips exactly the rows
-- already committed.
CREATE TABLE contact_imports (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    file_name TEXT,
    file_bytes BIGINT NOT NULL,
    chunk_count INTEGER NOT NULL,
    column_map TEXT NOT NULL,
    on_conflict TEXT NOT NULL,
    segments TEXT NOT NULL,
    topics TEXT NOT NULL,
    rows_done BIGINT NOT NULL DEFAULT 0,
    created_count BIGINT NOT NULL DEFAULT 0,
    updated_count BIGINT NOT NULL DEFAULT 0,
    skipped_count BIGINT NOT NULL DEFAULT 0,
    failed_count BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contact_imports_team ON contact_imports (team_id, created_at, id);

CREATE TABLE contact_import_chunks (
    import_id TEXT NOT NULL REFERENCES contact_imports(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- Rows that could not be imported, by line number of the CSV file.
CREATE TABLE contact_import_failures (
    import_id TEXT NOT NULL REFERENCES contact_imports(id) ON DELETE CASCADE,
    line BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (import_id, line)
);
