CREATE INDEX file_metadata_user_active ON file_metadata (user_id, uploaded_at DESC)
    WHERE status = 'active';
DROP INDEX file_metadata_user_list;
