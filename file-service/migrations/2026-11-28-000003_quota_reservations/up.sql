-- What a pending upload may still grow to: counted against its owner's quota until the
-- upload completes (then `size` counts) or fails.
ALTER TABLE file_metadata
    ADD COLUMN reserved_bytes bigint NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0);

-- The usage sum of one user reads pending and active rows only.
CREATE INDEX file_metadata_user_usage ON file_metadata (user_id)
    WHERE status IN ('pending', 'active');
