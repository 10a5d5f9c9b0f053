DROP INDEX file_metadata_idempotency;
ALTER TABLE file_metadata DROP COLUMN idempotency_key;
