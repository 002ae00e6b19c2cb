-- Team invitations (auth::invitations): an admin invites an email address with a role;
-- the emailed link carries the invitation id and an HMAC of it under the instance secret,
-- so the database holds nothing that opens the invitation by itself.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT
);
CREATE INDEX invitations_team ON invitations (team_id, created_at, id);

CREATE INDEX users_team ON users (team_id, created_at, id);
CREATE INDEX sessions_user ON sessions (user_id);
