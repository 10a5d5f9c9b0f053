-- The file list's default order (newest first, id breaking ties) straight from one
-- index range per user, and its count from the same range: expires_at is carried in
-- the index so the live-files filter needs no visit to the table.
CREATE INDEX file_metadata_user_list ON file_metadata (user_id, uploaded_at DESC, id DESC)
    INCLUDE (expires_at) WHERE status = 'active';
DROP INDEX file_metadata_user_active;
