-- One outbox for every webhook event. Email events join `webhook_events` (the row names its
-- email and recipient; the fan-out adds the email's fields to the body), so the scan of
-- `email_events` and its partial index go. Events not yet fanned out move over, keeping their
-- ids (a delivery's message id is made from its event's id). `email_events.fanned_out` is no
-- longer read or written. The other backend's file of the same name holds the same changes.
ALTER TABLE webhook_events ADD COLUMN email_id TEXT;
ALTER TABLE webhook_events ADD COLUMN recipient TEXT;

INSERT INTO webhook_events (id, team_id, type, data, created_at, email_id, recipient)
SELECT e.id, e.team_id, 'email.' || e.type, e.data, e.created_at, e.email_id, e.recipient
FROM email_events e
WHERE NOT e.fanned_out AND e.type NOT IN ('queued', 'canceled')
  AND e.team_id IN (SELECT id FROM teams);

DROP INDEX email_events_fan_out;
