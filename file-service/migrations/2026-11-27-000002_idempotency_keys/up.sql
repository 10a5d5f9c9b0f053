-- `Idempotency-Key` of POST /api/upload: one live upload per user and key. A key whose
-- upload failed or was deleted is released (set to NULL) so it can be used again.
ALTER TABLE file_metadata ADD COLUMN idempotency_key text
    CHECK (octet_length(idempotency_key) BETWEEN 1 AND 255);

CREATE UNIQUE INDEX file_metadata_idempotency ON file_metadata (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
