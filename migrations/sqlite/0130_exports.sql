-- CSV exports of a dashboard list (exports::*): what was asked (kind, the list's filters
-- as its query string, who), where the job stands (rows written, the keyset cursor, chunks
-- stored) and the file itself in `export_chunks` (about 1 MiB each), so any node sharing
-- the database serves the download. A ready export's chunks are deleted at `expires_at`.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    filters TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    status TEXT NOT NULL,
    rows_done BIGINT NOT NULL DEFAULT 0,
    cursor TEXT,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    notified_at BIGINT,
    notice_error TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    expires_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX exports_team ON exports (team_id, created_at, id);
CREATE INDEX exports_expiry ON exports (expires_at) WHERE status = 'ready';

CREATE TABLE export_chunks (
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (export_id, seq)
);
