-- Webhook events other than email events (contact.*), written in the same transaction as the
-- change they report and deleted by the fan-out once their deliveries are queued. `data` is
-- the JSON `data` object of the webhook body. The PostgreSQL file of the same name holds the same
-- changes.
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
