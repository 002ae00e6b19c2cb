-- Finished jobs by age, for the purge (queue::purge). Partial indexes: only finished rows
-- enter them, so claims and retries of live jobs do not pay for them, and each purge batch
-- starts at the oldest rows instead of scanning every finished job.
CREATE INDEX jobs_done_at ON jobs (updated_at) WHERE state = 'done';
CREATE INDEX jobs_failed_at ON jobs (updated_at) WHERE state IN ('dead', 'canceled');
