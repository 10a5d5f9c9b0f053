DROP TABLE sign_in_attempts;
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN picture_key;
