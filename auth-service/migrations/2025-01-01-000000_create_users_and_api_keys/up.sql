-- Users and their API keys. Only auth-service reads or writes these tables.

CREATE TABLE users (
    id uuid PRIMARY KEY,
    -- Stored lower-cased by the service, so uniqueness is case-insensitive.
    email text NOT NULL UNIQUE CHECK (email <> ''),
    name text,
    image text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- The public part of the key, used to find its row; the secret is only in key_hash.
    prefix text NOT NULL UNIQUE CHECK (prefix ~ '^[A-Za-z0-9]{8}$'),
    -- bcrypt over the whole key; no recoverable copy of the key is stored.
    key_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
