DROP INDEX file_metadata_user_by_size;
DROP INDEX file_metadata_user_by_name;
