-- Email metrics (`GET /emails/metrics`, the dashboard's Metrics page): counts per team, UTC
-- hour, sender domain, broadcast and metric, rolled up from `email_events` once an hour has
-- ended. Hours after `metrics_rollup.sealed_until` are counted from the events when asked.
CREATE TABLE email_metrics_hourly (
    team_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    domain TEXT NOT NULL,
    broadcast_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (team_id, hour, domain, broadcast_id, metric)
);

CREATE TABLE metrics_rollup (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_until BIGINT NOT NULL
);

CREATE INDEX email_events_time ON email_events (created_at);
