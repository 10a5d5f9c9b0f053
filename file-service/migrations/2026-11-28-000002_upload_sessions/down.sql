DROP TABLE upload_sessions;
