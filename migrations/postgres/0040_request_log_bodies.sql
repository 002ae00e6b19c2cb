-- Request logs keep the request and response bodies (redacted, at most 64 KB each; see
-- src/logs/body.rs), for GET /logs/{id} and the dashboard's Logs pages.
ALTER TABLE request_logs ADD COLUMN request_body TEXT;
ALTER TABLE request_logs ADD COLUMN response_body TEXT;
-- Oldest first, for the retention purge ([logs] keep_days).
CREATE INDEX request_logs_created ON request_logs (created_at);
