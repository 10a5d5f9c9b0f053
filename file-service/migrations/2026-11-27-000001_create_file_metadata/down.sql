DROP TABLE file_metadata;
