-- The team's branding on pages its recipients see (the hosted unsubscribe page): a display
-- name, a logo address, an accent colour and a footer line. One row per team, written from
-- Settings → Branding in the dashboard; a team without a row uses the defaults.
CREATE TABLE team_branding (
    team_id TEXT PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT,
    logo_url TEXT,
    accent_color TEXT NOT NULL,
    footer_text TEXT,
    updated_at BIGINT NOT NULL
);
