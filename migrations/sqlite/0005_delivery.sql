-- Delivery: per-recipient delivery state and the suppression list.
-- The PostgreSQL file of the same name holds the same tables.

-- What delivery decided for each recipient of an email (addresses lower-case). Final
-- states (delivered, bounced, suppressed) are never sent to again, so a delivery job that
-- is retried after a crash skips them; `deferred` recipients are tried again.
CREATE TABLE delivery_recipients (
    email_id TEXT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The last SMTP reply or error, for the dashboard.
    last_response TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (email_id, recipient)
);

-- A team's suppression list: addresses that are not sent to. `origin` is bounce, complaint
-- or manual; `source_id` is the email that bounced or complained.
CREATE TABLE suppressions (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    origin TEXT NOT NULL,
    source_id TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, email)
);
CREATE INDEX suppressions_team ON suppressions (team_id, created_at, id);
