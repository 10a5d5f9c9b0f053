DROP INDEX file_metadata_user_usage;
ALTER TABLE file_metadata DROP COLUMN reserved_bytes;
