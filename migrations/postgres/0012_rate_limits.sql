-- Rate-limit windows shared by every Herald node of one PostgreSQL database: one row per team
-- and second, counted with an upsert. Rows older than a minute are pruned. The SQLite file of
-- the same name holds the same table (unused there: one SQLite file serves one node).

CREATE UNLOGGED TABLE rate_limit_windows (
    team_id TEXT NOT NULL,
    window_second BIGINT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (team_id, window_second)
);
