DROP INDEX file_metadata_expiry;
