-- The file list sorted by name or by size reads one index range per user too (either
-- direction: the index is scanned backwards for the descending order, id breaking ties
-- the same way), so a page costs the same at a million rows as at a hundred.
CREATE INDEX file_metadata_user_by_name ON file_metadata (user_id, original_name, id)
    INCLUDE (expires_at) WHERE status = 'active';
CREATE INDEX file_metadata_user_by_size ON file_metadata (user_id, size, id)
    INCLUDE (expires_at) WHERE status = 'active';
