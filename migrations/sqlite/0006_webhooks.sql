-- Webhooks: endpoints, their delivery attempts and the fan-out marker on events. The PostgreSQL file of the same name holds the
-- same changes.

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    -- JSON array of event types.
    events TEXT NOT NULL,
    status TEXT NOT NULL,
    -- The whsec_ secret sealed with AES-256-GCM under the configured encryption key.
    signing_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_team ON webhooks (team_id, created_at, id);

-- One row per attempt to deliver an event to an endpoint.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    team_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The svix-id sent: the same for every attempt of one event.
    message_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (team_id, webhook_id, created_at, id);

-- Events not yet turned into webhook deliveries. Events with no webhook (queued, canceled)
-- stay out of the index, so the accept path does not maintain it.
ALTER TABLE email_events ADD COLUMN fanned_out BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE email_events SET fanned_out = TRUE WHERE type NOT IN ('queued', 'canceled');
CREATE INDEX email_events_fan_out ON email_events (id)
    WHERE NOT fanned_out AND type NOT IN ('queued', 'canceled');

