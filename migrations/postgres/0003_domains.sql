-- Domains: settings, DKIM key, verification state, and one row per checked DNS record.
-- The PostgreSQL file of the same name holds the same changes.

ALTER TABLE domains ADD COLUMN custom_return_path TEXT NOT NULL DEFAULT 'send';
ALTER TABLE domains ADD COLUMN open_tracking BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE domains ADD COLUMN click_tracking BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE domains ADD COLUMN tls TEXT NOT NULL DEFAULT 'opportunistic';
ALTER TABLE domains ADD COLUMN sending TEXT NOT NULL DEFAULT 'enabled';
ALTER TABLE domains ADD COLUMN receiving TEXT NOT NULL DEFAULT 'disabled';
ALTER TABLE domains ADD COLUMN tracking_subdomain TEXT;
ALTER TABLE domains ADD COLUMN dkim_selector TEXT NOT NULL DEFAULT 'herald';
-- Base64 SubjectPublicKeyInfo, as published in DNS.
ALTER TABLE domains ADD COLUMN dkim_public_key TEXT NOT NULL DEFAULT '';
-- PKCS#8 private key sealed with AES-256-GCM under the configured encryption key.
ALTER TABLE domains ADD COLUMN dkim_private_key TEXT NOT NULL DEFAULT '';
-- When the owner last asked to verify: pending domains fail 72 hours later.
ALTER TABLE domains ADD COLUMN verify_started_at BIGINT;
-- When a verified domain's records went missing: it fails 72 hours later.
ALTER TABLE domains ADD COLUMN failing_since BIGINT;
ALTER TABLE domains ADD COLUMN checked_at BIGINT;
-- Identifies the current chain of verification jobs; older chains stop.
ALTER TABLE domains ADD COLUMN check_token TEXT;
-- DMARC and BIMI findings of the last check (JSON).
ALTER TABLE domains ADD COLUMN auth_report TEXT;
ALTER TABLE domains ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX domains_team ON domains (team_id, created_at, id);

-- Result of the last check of each record a domain publishes (spf_mx, spf_txt, dkim,
-- tracking, receiving). What to publish is computed, not stored.
CREATE TABLE domain_records (
    domain_id TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    found TEXT NOT NULL DEFAULT '[]',
    message TEXT,
    checked_at BIGINT,
    PRIMARY KEY (domain_id, kind)
);
