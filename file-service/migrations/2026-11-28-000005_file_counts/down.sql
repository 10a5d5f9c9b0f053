DROP INDEX file_metadata_user_expiry;
DROP TRIGGER file_metadata_count_deleted ON file_metadata;
DROP TRIGGER file_metadata_count_updated ON file_metadata;
DROP TRIGGER file_metadata_count_inserted ON file_metadata;
DROP FUNCTION count_files_deleted();
DROP FUNCTION count_files_updated();
DROP FUNCTION count_files_inserted();
DROP TABLE user_file_counts;
