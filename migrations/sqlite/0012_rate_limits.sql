-- Rate-limit windows shared by the nodes of one PostgreSQL database (see the PostgreSQL file of
-- the same name). Kept here so both backends share one schema; a SQLite node counts in memory.

CREATE TABLE rate_limit_windows (
    team_id TEXT NOT NULL,
    window_second BIGINT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (team_id, window_second)
);
