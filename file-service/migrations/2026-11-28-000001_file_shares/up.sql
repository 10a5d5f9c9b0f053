-- Share links: several per file, each with an optional expiry, download limit and
-- password. Deleting a file's row deletes its links; a link is dead as soon as its file
-- is deleted or expired (checked on every use).
CREATE TABLE file_shares (
    id             uuid        PRIMARY KEY,
    file_id        uuid        NOT NULL REFERENCES file_metadata (id) ON DELETE CASCADE,
    user_id        uuid        NOT NULL,
    -- SHA-256 of the link's 256-bit token; the token itself is never stored.
    token_hash     bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    -- bcrypt of the password, if the link has one.
    password_hash  text,
    expires_at     timestamptz,
    max_downloads  integer     CHECK (max_downloads > 0),
    downloads      integer     NOT NULL DEFAULT 0
                               CHECK (downloads >= 0 AND (max_downloads IS NULL OR downloads <= max_downloads)),
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);

CREATE INDEX file_shares_file_id ON file_shares (file_id, created_at DESC);
CREATE INDEX file_shares_expires_at ON file_shares (expires_at) WHERE revoked_at IS NULL;

-- One row per counted download: the grant that lets that download resume with ranges
-- without counting again, for 24 hours.
CREATE TABLE file_share_grants (
    grant_hash  bytea       PRIMARY KEY CHECK (octet_length(grant_hash) = 32),
    share_id    uuid        NOT NULL REFERENCES file_shares (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

CREATE INDEX file_share_grants_share_id ON file_share_grants (share_id);
CREATE INDEX file_share_grants_expires_at ON file_share_grants (expires_at);
