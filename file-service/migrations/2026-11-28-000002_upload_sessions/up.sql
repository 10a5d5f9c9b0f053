-- Resumable (tus) uploads: the session of a pending file. The file row is the intent,
-- as for a single-request upload; the session adds the declared length, the offset the
-- server acknowledged, the client's metadata, the expiry and a lease that lets one
-- request at a time write (across gateway replicas; a dead holder's lease runs out).
CREATE TABLE upload_sessions (
    id             uuid        PRIMARY KEY REFERENCES file_metadata (id) ON DELETE CASCADE,
    user_id        uuid        NOT NULL,
    -- NULL while the client defers it (Upload-Defer-Length).
    upload_length  bigint      CHECK (upload_length >= 0),
    upload_offset  bigint      NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
    metadata       text        NOT NULL DEFAULT '',
    expires_at     timestamptz NOT NULL,
    lease_holder   uuid,
    lease_until    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (upload_length IS NULL OR upload_offset <= upload_length)
);

CREATE INDEX upload_sessions_expires_at ON upload_sessions (expires_at);
