-- The janitor looks for active files past their expiry on every pass.
CREATE INDEX file_metadata_expiry ON file_metadata (expires_at)
    WHERE status = 'active' AND expires_at IS NOT NULL;
