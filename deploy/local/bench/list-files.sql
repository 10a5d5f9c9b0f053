-- The two statements file-service runs for a default `GET /api/files` (page 1, 20 per
-- page, status active, newest upload first), as diesel renders them, for
-- `pgbench -M prepared` in deploy/local/bench.sh: file-service's connections prepare
-- both once and reuse them (file-service/src/repository/cached.rs). One pgbench
-- transaction is one list request: the count, then the page, on the same connection.
--
-- Where it comes from:
--   gateway/src/routes/files.rs `list`: page 1, perPage 20, status Active, sort
--     UploadedAt, order Desc when the query string names none;
--   file-service/src/domain.rs `ListQuery::parse`: offset (page - 1) * perPage;
--   file-service/src/repository/mod.rs `list` and `filtered`: user_id = $1, then
--     (boxed) the Active filter, spelled as the partial index file_metadata_user_list;
--     the total from `LiveFiles` (the count kept in user_file_counts less the rows
--     past their expiry) first, then the FileRow columns and EXPIRED, ORDER BY the sort
--     key and then id in the same direction, LIMIT, OFFSET.
-- Keep it in step with those when they change.
--
-- :user_id comes from pgbench -D (a uuid); the other two are the defaults above.
\set per_page 20
\set page_offset 0
SELECT coalesce((SELECT active FROM user_file_counts WHERE user_id = :user_id), 0)
       - (SELECT count(*) FROM file_metadata
          WHERE user_id = :user_id AND status = 'active' AND expires_at <= now())
       AS files;
SELECT "file_metadata"."id", "file_metadata"."user_id", "file_metadata"."original_name",
       "file_metadata"."file_name", "file_metadata"."extension", "file_metadata"."mime_type",
       "file_metadata"."size", "file_metadata"."sha256", "file_metadata"."duration",
       "file_metadata"."status", "file_metadata"."created_at", "file_metadata"."uploaded_at",
       "file_metadata"."expires_at", "file_metadata"."deleted_at", "file_metadata"."purged_at",
       "file_metadata"."claimed_until", coalesce(expires_at <= now(), false)
FROM "file_metadata"
WHERE (("file_metadata"."user_id" = :user_id)
       AND (status = 'active' AND (expires_at IS NULL OR expires_at > now())))
ORDER BY "file_metadata"."uploaded_at" DESC, "file_metadata"."id" DESC
LIMIT :per_page OFFSET :page_offset;
