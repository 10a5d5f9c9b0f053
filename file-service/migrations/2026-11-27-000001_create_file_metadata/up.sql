-- One row per upload. The row exists before any byte is stored (`pending`), becomes
-- `active` once the object is complete, and is never removed before its object is:
-- `failed` and `deleted` rows are the janitor's list of objects to remove.
CREATE TABLE file_metadata (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL,
    original_name  text        NOT NULL CHECK (octet_length(original_name) BETWEEN 1 AND 255),
    file_name      text        NOT NULL UNIQUE,
    extension      text        NOT NULL,
    mime_type      text        NOT NULL,
    size           bigint      NOT NULL DEFAULT 0 CHECK (size >= 0),
    sha256         text        CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    duration       text        NOT NULL CHECK (duration IN ('1h', '1d', '7d', '30d', 'unlimited')),
    status         text        NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'active', 'failed', 'deleted', 'purged')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    uploaded_at    timestamptz,
    expires_at     timestamptz,
    deleted_at     timestamptz,
    purged_at      timestamptz,
    -- A janitor that claimed this row for removal holds it until then.
    claimed_until  timestamptz,
    CHECK (status <> 'active' OR (sha256 IS NOT NULL AND uploaded_at IS NOT NULL))
);

CREATE INDEX file_metadata_user_active ON file_metadata (user_id, uploaded_at DESC)
    WHERE status = 'active';
CREATE INDEX file_metadata_cleanup ON file_metadata (status, created_at)
    WHERE status IN ('pending', 'failed', 'deleted');
