-- The feedback listener finds the email a report concerns by its returned Message-ID.
CREATE INDEX IF NOT EXISTS emails_team_message_id ON emails (team_id, message_id);
