DROP TABLE file_share_grants;
DROP TABLE file_shares;
