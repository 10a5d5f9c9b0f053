-- Server-side sessions, sign-in attempts in flight, and uploaded profile pictures.

-- The storage key of a picture the user uploaded; shown instead of the provider's image.
ALTER TABLE users ADD COLUMN picture_key text;

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the opaque token in the cookie; the token itself is never stored.
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- One row per authorization request sent to a provider, consumed (deleted) by its
-- callback, so a state is good for one callback only.
CREATE TABLE sign_in_attempts (
    -- SHA-256 of the `state` parameter, which the browser also holds in a cookie.
    state_hash bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    provider text NOT NULL,
    nonce text NOT NULL,
    pkce_verifier text NOT NULL,
    redirect_uri text NOT NULL,
    callback_url text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX sign_in_attempts_expires_at_idx ON sign_in_attempts (expires_at);
