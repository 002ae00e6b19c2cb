-- Broadcasts: one message to every contact of a segment. The same tables are in the other
-- backend's file of this name.

CREATE TABLE broadcasts (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT,
    -- No foreign keys: a broadcast keeps naming a deleted segment or topic (sending then
    -- refuses), and its history stays readable.
    segment_id TEXT,
    topic_id TEXT,
    from_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- JSON array of addresses.
    reply_to TEXT NOT NULL DEFAULT '[]',
    preview_text TEXT,
    html TEXT,
    text TEXT,
    -- draft (also while scheduled), queued, sending, sent, canceled.
    status TEXT NOT NULL,
    scheduled_at BIGINT,
    sent_at BIGINT,
    -- Fan-out progress: contacts who joined the segment after `snapshot_at` are not sent to;
    -- `cursor` is the last contact id handled, moved in the same transaction as the emails
    -- of its batch, so a resumed fan-out neither skips nor repeats a contact.
    snapshot_at BIGINT,
    cursor TEXT,
    recipients BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX broadcasts_team ON broadcasts (team_id, created_at, id);

-- Emails sent for a broadcast name it and the contact they went to.
ALTER TABLE emails ADD COLUMN broadcast_id TEXT;
ALTER TABLE emails ADD COLUMN contact_id TEXT;
CREATE INDEX emails_broadcast ON emails (broadcast_id, contact_id) WHERE broadcast_id IS NOT NULL;

-- Contacts who unsubscribed through a broadcast's link (its performance figure).
CREATE TABLE broadcast_unsubscribes (
    broadcast_id TEXT NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (broadcast_id, contact_id)
);
