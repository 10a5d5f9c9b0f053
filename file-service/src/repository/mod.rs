//! Queries on `file_metadata`. Every decision about time uses the database clock
//! (`now()`), so replicas with skewed clocks agree.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, PgTextExpressionMethods, QueryDsl, QueryableByName,
    SelectableHelper,
    sql_types::{BigInt, Bool, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use flowsvault_kit::database::Pool;
use uuid::Uuid;

mod cached;
mod shares;
mod uploads;

pub use shares::{GRANT_HOURS, NewShare, ShareRow, SharedRecord};
pub use uploads::{NewSession, SessionRecord};

use self::cached::{LiveFiles, fixed};
use crate::{
    domain::{ListQuery, Sort, Visibility},
    error::FileError,
    schema::file_metadata,
};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, diesel::QueryableByName)]
#[diesel(table_name = file_metadata, check_for_backend(diesel::pg::Pg))]
pub struct FileRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub original_name: String,
    pub file_name: String,
    pub extension: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: Option<String>,
    pub duration: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
    pub claimed_until: Option<DateTime<Utc>>,
}

/// A row with whether it has expired by the database clock at the time of the query.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct FileRecord {
    // Not named `row`: the derive uses that name internally.
    #[diesel(embed)]
    pub metadata: FileRow,
    #[diesel(sql_type = Bool)]
    pub expired: bool,
}

impl From<(FileRow, bool)> for FileRecord {
    fn from((metadata, expired): (FileRow, bool)) -> Self {
        Self { metadata, expired }
    }
}

#[derive(Debug, Clone)]
pub struct NewFile {
    pub id: Uuid,
    pub user_id: Uuid,
    pub original_name: String,
    pub file_name: String,
    pub extension: String,
    pub mime_type: String,
    pub duration: &'static str,
    pub idempotency_key: Option<String>,
    /// The most the upload may store, counted against the quota while it is pending.
    pub reserve_bytes: i64,
    /// The owner's quota in bytes; 0 for none.
    pub quota_bytes: i64,
}

/// Serializes the uploads that begin for one user, so that two of them cannot both see
/// room for themselves. Held until the transaction ends.
pub(crate) async fn lock_usage(
    connection: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
) -> Result<(), FileError> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7001))")
        .bind::<SqlUuid, _>(user_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// The rows that count against a quota: pending uploads (by what they reserve) and live
/// files (by their size). Expired, deleted and failed files do not count.
const COUNTED: &str = "(status = 'pending'
     OR (status = 'active' AND (expires_at IS NULL OR expires_at > now())))";

/// What the user's counted rows hold now.
async fn usage(
    connection: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
) -> Result<i64, FileError> {
    #[derive(QueryableByName)]
    struct Usage {
        #[diesel(sql_type = BigInt)]
        used: i64,
    }
    let usage: Usage = diesel::sql_query(format!(
        "SELECT coalesce(sum(CASE WHEN status = 'pending' THEN reserved_bytes ELSE size END), 0)::bigint
                AS used
         FROM file_metadata
         WHERE user_id = $1 AND {COUNTED}"
    ))
    .bind::<SqlUuid, _>(user_id)
    .get_result(connection)
    .await?;
    Ok(usage.used)
}

/// Checks, after the new pending row is in (and under [`lock_usage`]), that the user's
/// counted rows fit in `quota_bytes` (0: no quota). An error rolls the insert back.
pub(crate) async fn reserve_within_quota(
    connection: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
    quota_bytes: i64,
) -> Result<(), FileError> {
    if quota_bytes <= 0 {
        return Ok(());
    }
    let used = usage(connection, user_id).await?;
    if used > quota_bytes {
        return Err(FileError::QuotaExceeded {
            needed: used,
            quota: quota_bytes,
        });
    }
    Ok(())
}

/// What beginning an upload found.
#[derive(Debug)]
pub enum Begun {
    /// A new pending row.
    New(FileRecord),
    /// The upload that already holds this idempotency key.
    Existing(FileRecord),
}

const EXPIRED: &str = "coalesce(expires_at <= now(), false)";
/// Rows a user sees: active files, and expired files whose bytes the janitor removed
/// (they keep answering "expired", not "not found").
const VISIBLE: &str = "(status = 'active' \
    OR (status = 'purged' AND deleted_at IS NULL AND expires_at <= now()))";
const RETURNING: &str = "RETURNING *, coalesce(expires_at <= now(), false) AS expired";

#[derive(Clone)]
pub struct FileRepository {
    pool: Pool,
}

impl FileRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Inserts a pending row, unless a live upload already holds the same idempotency
    /// key: then that one is returned instead. With a quota, the new row's reservation
    /// must fit (see [`reserve_within_quota`]).
    #[tracing::instrument(skip(self, new), fields(id = %new.id))]
    pub async fn insert_pending(&self, new: NewFile) -> Result<Begun, FileError> {
        let mut connection = self.pool.get().await?;
        connection
            .transaction(async |connection| {
                if new.quota_bytes > 0 {
                    lock_usage(connection, new.user_id).await?;
                }
                if let Some(key) = &new.idempotency_key {
                    // A key whose upload failed, was deleted or has expired may be used again.
                    diesel::sql_query(
                        "UPDATE file_metadata SET idempotency_key = NULL
                         WHERE user_id = $1 AND idempotency_key = $2
                           AND (status IN ('failed', 'deleted', 'purged')
                                OR (status = 'active' AND expires_at <= now()))",
                    )
                    .bind::<SqlUuid, _>(new.user_id)
                    .bind::<Text, _>(key)
                    .execute(connection)
                    .await?;
                }
                let inserted = diesel::sql_query(format!(
                    "INSERT INTO file_metadata
                         (id, user_id, original_name, file_name, extension, mime_type, duration,
                          status, idempotency_key, reserved_bytes)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9)
                     ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL
                     DO NOTHING
                     {RETURNING}"
                ))
                .bind::<SqlUuid, _>(new.id)
                .bind::<SqlUuid, _>(new.user_id)
                .bind::<Text, _>(&new.original_name)
                .bind::<Text, _>(&new.file_name)
                .bind::<Text, _>(&new.extension)
                .bind::<Text, _>(&new.mime_type)
                .bind::<Text, _>(new.duration)
                .bind::<diesel::sql_types::Nullable<Text>, _>(&new.idempotency_key)
                .bind::<BigInt, _>(new.reserve_bytes)
                .get_result::<FileRecord>(connection)
                .await
                .optional()?;
                if let Some(record) = inserted {
                    reserve_within_quota(connection, new.user_id, new.quota_bytes).await?;
                    return Ok(Begun::New(record));
                }
                let existing = file_metadata::table
                    .filter(file_metadata::user_id.eq(new.user_id))
                    .filter(file_metadata::idempotency_key.eq(&new.idempotency_key))
                    .select((FileRow::as_select(), fixed::<Bool>(EXPIRED)))
                    .first::<(FileRow, bool)>(connection)
                    .await
                    .optional()?
                    // Released between our insert and this read: the caller may simply retry.
                    .ok_or_else(|| {
                        FileError::Conflict("the idempotency key changed hands".into())
                    })?;
                Ok(Begun::Existing(existing.into()))
            })
            .await
    }

    /// Whether `needed` more bytes fit in the user's `quota` now (0: no quota), unless a
    /// counted upload of the user already holds `idempotency_key` (repeating it stores
    /// nothing new). A read, not a reservation: [`Self::insert_pending`] is what holds.
    #[tracing::instrument(skip(self, idempotency_key))]
    pub async fn check_quota(
        &self,
        user_id: Uuid,
        needed: i64,
        quota: i64,
        idempotency_key: Option<&str>,
    ) -> Result<(), FileError> {
        #[derive(QueryableByName)]
        struct Held {
            #[diesel(sql_type = Bool)]
            held: bool,
        }
        if quota <= 0 {
            return Ok(());
        }
        let mut connection = self.pool.get().await?;
        if let Some(key) = idempotency_key {
            let found: Held = diesel::sql_query(format!(
                "SELECT EXISTS (SELECT 1 FROM file_metadata
                                WHERE user_id = $1 AND idempotency_key = $2 AND {COUNTED})
                        AS held"
            ))
            .bind::<SqlUuid, _>(user_id)
            .bind::<Text, _>(key)
            .get_result(&mut connection)
            .await?;
            if found.held {
                return Ok(());
            }
        }
        let used = usage(&mut connection, user_id)
            .await?
            .saturating_add(needed);
        if used > quota {
            return Err(FileError::QuotaExceeded {
                needed: used,
                quota,
            });
        }
        Ok(())
    }

    /// pending → active, with the stored size and digest; the lifetime starts now.
    #[tracing::instrument(skip(self, sha256))]
    pub async fn complete(
        &self,
        user_id: Uuid,
        id: Uuid,
        size: i64,
        sha256: &str,
        duration: &'static str,
        lifetime_seconds: Option<i64>,
    ) -> Result<FileRecord, FileError> {
        let mut connection = self.pool.get().await?;
        let updated = diesel::sql_query(format!(
            "UPDATE file_metadata
             SET status = 'active', size = $3, sha256 = $4, duration = $5, uploaded_at = now(),
                 expires_at = now() + make_interval(secs => $6::double precision)
             WHERE id = $1 AND user_id = $2 AND status = 'pending'
             {RETURNING}"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user_id)
        .bind::<BigInt, _>(size)
        .bind::<Text, _>(sha256)
        .bind::<Text, _>(duration)
        .bind::<diesel::sql_types::Nullable<BigInt>, _>(lifetime_seconds)
        .get_result::<FileRecord>(&mut connection)
        .await
        .optional()?;
        if let Some(record) = updated {
            return Ok(record);
        }
        // Completed before with these very bytes: a completion tried again after its
        // answer was lost gets the same answer, not a conflict.
        let completed = file_metadata::table
            .filter(file_metadata::id.eq(id))
            .filter(file_metadata::user_id.eq(user_id))
            .filter(file_metadata::status.eq("active"))
            .filter(file_metadata::size.eq(size))
            .filter(file_metadata::sha256.eq(sha256))
            .select((FileRow::as_select(), fixed::<Bool>(EXPIRED)))
            .first::<(FileRow, bool)>(&mut connection)
            .await
            .optional()?;
        match completed {
            Some(record) => Ok(record.into()),
            None => Err(self.why_not_pending(user_id, id).await?),
        }
    }

    /// pending → failed. Idempotent, and a row the janitor already failed and purged is
    /// returned as it is: in every returned state the object is unwanted, so the caller
    /// may remove it (it can have been written after the janitor's removal).
    #[tracing::instrument(skip(self))]
    pub async fn fail(&self, user_id: Uuid, id: Uuid) -> Result<FileRecord, FileError> {
        let mut connection = self.pool.get().await?;
        let updated = diesel::sql_query(format!(
            "UPDATE file_metadata
             SET status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END
             WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'failed', 'purged')
             {RETURNING}"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user_id)
        .get_result::<FileRecord>(&mut connection)
        .await
        .optional()?;
        match updated {
            Some(record) => Ok(record),
            None => Err(self.why_not_pending(user_id, id).await?),
        }
    }

    async fn why_not_pending(&self, user_id: Uuid, id: Uuid) -> Result<FileError, FileError> {
        let mut connection = self.pool.get().await?;
        let status: Option<String> = file_metadata::table
            .filter(file_metadata::id.eq(id))
            .filter(file_metadata::user_id.eq(user_id))
            .select(file_metadata::status)
            .first(&mut connection)
            .await
            .optional()?;
        Ok(match status {
            None => FileError::NotFound,
            Some(status) => FileError::Conflict(format!("the upload is {status}, not pending")),
        })
    }

    /// An active file of `user_id` (expired or not); anything else is not found.
    #[tracing::instrument(skip(self))]
    pub async fn get_active(&self, user_id: Uuid, id: Uuid) -> Result<FileRecord, FileError> {
        let mut connection = self.pool.get().await?;
        file_metadata::table
            .filter(file_metadata::id.eq(id))
            .filter(file_metadata::user_id.eq(user_id))
            .filter(fixed::<Bool>(VISIBLE))
            .select((FileRow::as_select(), fixed::<Bool>(EXPIRED)))
            .first::<(FileRow, bool)>(&mut connection)
            .await
            .optional()?
            .map(FileRecord::from)
            .ok_or(FileError::NotFound)
    }

    /// One page of a user's files and the total number that match.
    #[tracing::instrument(skip(self))]
    pub async fn list(
        &self,
        user_id: Uuid,
        query: &ListQuery,
    ) -> Result<(Vec<FileRecord>, i64), FileError> {
        let mut connection = self.pool.get().await?;
        let total = if query.visibility == Visibility::Active && query.like_pattern().is_none() {
            LiveFiles { user_id }.get_result(&mut connection).await?
        } else {
            filtered(user_id, query)
                .count()
                .get_result(&mut connection)
                .await?
        };
        let page = filtered(user_id, query)
            .select((FileRow::as_select(), fixed::<Bool>(EXPIRED)))
            .order_by(sort_key(query))
            .then_order_by(if query.descending {
                Box::new(file_metadata::id.desc()) as SortKey
            } else {
                Box::new(file_metadata::id.asc())
            })
            .limit(i64::from(query.per_page))
            .offset(query.offset())
            .load::<(FileRow, bool)>(&mut connection)
            .await?;
        Ok((page.into_iter().map(FileRecord::from).collect(), total))
    }

    /// active → deleted. The caller removes the object next and reports it with
    /// [`FileRepository::mark_purged`]; until then the janitor retries the removal.
    #[tracing::instrument(skip(self))]
    pub async fn soft_delete(&self, user_id: Uuid, id: Uuid) -> Result<FileRecord, FileError> {
        let mut connection = self.pool.get().await?;
        diesel::sql_query(format!(
            "UPDATE file_metadata SET status = 'deleted', deleted_at = now()
             WHERE id = $1 AND user_id = $2 AND {VISIBLE}
             {RETURNING}"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user_id)
        .get_result::<FileRecord>(&mut connection)
        .await
        .optional()?
        .ok_or(FileError::NotFound)
    }

    /// active → deleted for every id of `ids` that is an active file of `user_id`.
    #[tracing::instrument(skip(self, ids), fields(count = ids.len()))]
    pub async fn soft_delete_many(
        &self,
        user_id: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<FileRecord>, FileError> {
        let mut connection = self.pool.get().await?;
        let deleted = diesel::sql_query(format!(
            "UPDATE file_metadata SET status = 'deleted', deleted_at = now()
             WHERE id = ANY($1) AND user_id = $2 AND {VISIBLE}
             {RETURNING}"
        ))
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
        .bind::<SqlUuid, _>(user_id)
        .load::<FileRecord>(&mut connection)
        .await?;
        Ok(deleted)
    }

    /// The ids and storage keys of the user's rows in any state, oldest first.
    #[tracing::instrument(skip(self))]
    pub async fn user_objects(
        &self,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(Uuid, String)>, FileError> {
        let mut connection = self.pool.get().await?;
        let objects = file_metadata::table
            .filter(file_metadata::user_id.eq(user_id))
            .order((file_metadata::created_at.asc(), file_metadata::id.asc()))
            .limit(limit)
            .select((file_metadata::id, file_metadata::file_name))
            .load(&mut connection)
            .await?;
        Ok(objects)
    }

    /// Deletes the user's rows among `ids` outright. Returns how many were removed.
    #[tracing::instrument(skip(self, ids), fields(count = ids.len()))]
    pub async fn forget(&self, user_id: Uuid, ids: &[Uuid]) -> Result<u64, FileError> {
        let mut connection = self.pool.get().await?;
        let forgotten = diesel::delete(file_metadata::table)
            .filter(file_metadata::user_id.eq(user_id))
            .filter(file_metadata::id.eq_any(ids))
            .execute(&mut connection)
            .await?;
        Ok(forgotten as u64)
    }

    /// failed or deleted → purged, once the object is gone. Idempotent.
    #[tracing::instrument(skip(self))]
    pub async fn mark_purged(&self, id: Uuid) -> Result<(), FileError> {
        let mut connection = self.pool.get().await?;
        let changed = diesel::sql_query(
            "UPDATE file_metadata SET status = 'purged', purged_at = now(), claimed_until = NULL
             WHERE id = $1 AND (status IN ('failed', 'deleted', 'purged')
                                OR (status = 'active' AND expires_at <= now()))",
        )
        .bind::<SqlUuid, _>(id)
        .execute(&mut connection)
        .await?;
        if changed == 0 {
            return Err(FileError::NotFound);
        }
        Ok(())
    }

    /// The keys of `keys`, written at `modified`, that are older than `grace_seconds` by
    /// the database clock and that no record names while it may still hold an object
    /// (pending, active, failed or deleted): a purged or forgotten record's object, or
    /// one no record ever named.
    #[tracing::instrument(skip(self, keys, modified), fields(count = keys.len()))]
    pub async fn unknown_keys(
        &self,
        keys: &[String],
        modified: &[DateTime<Utc>],
        grace_seconds: i64,
    ) -> Result<Vec<String>, FileError> {
        #[derive(QueryableByName)]
        struct Key {
            #[diesel(sql_type = Text)]
            key: String,
        }
        let mut connection = self.pool.get().await?;
        let unknown = diesel::sql_query(
            "SELECT k.key FROM unnest($1::text[], $2::timestamptz[]) AS k(key, modified)
             WHERE k.modified <= now() - make_interval(secs => $3::double precision)
               AND NOT EXISTS (SELECT 1 FROM file_metadata f
                               WHERE f.file_name = k.key AND f.status <> 'purged')",
        )
        .bind::<diesel::sql_types::Array<Text>, _>(keys)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(modified)
        .bind::<BigInt, _>(grace_seconds)
        .load::<Key>(&mut connection)
        .await?;
        Ok(unknown.into_iter().map(|row| row.key).collect())
    }

    /// Marks pending uploads older than `stale_after_seconds` (resumable ones: past their
    /// session's expiry) failed, then claims up to
    /// `limit` rows whose objects must be removed, for `lease_seconds`. Rows claimed by
    /// another janitor are skipped, not waited for.
    #[tracing::instrument(skip(self))]
    pub async fn claim_purgeable(
        &self,
        limit: i64,
        stale_after_seconds: i64,
        lease_seconds: i64,
    ) -> Result<Vec<FileRecord>, FileError> {
        let mut connection = self.pool.get().await?;
        let abandoned = diesel::sql_query(
            "UPDATE file_metadata f SET status = 'failed'
             WHERE status = 'pending'
               AND CASE WHEN EXISTS (SELECT 1 FROM upload_sessions u WHERE u.id = f.id)
                   -- A resumable upload waits for its client until its own expiry.
                   THEN EXISTS (SELECT 1 FROM upload_sessions u
                                WHERE u.id = f.id AND u.expires_at <= now())
                   ELSE created_at < now() - make_interval(secs => $1::double precision)
                   END",
        )
        .bind::<BigInt, _>(stale_after_seconds)
        .execute(&mut connection)
        .await?;
        if abandoned > 0 {
            tracing::info!(abandoned, "stale pending uploads marked failed");
        }
        let claimed = diesel::sql_query(format!(
            "UPDATE file_metadata
             SET claimed_until = now() + make_interval(secs => $2::double precision)
             WHERE id IN (
                 SELECT id FROM file_metadata
                 WHERE (status IN ('failed', 'deleted')
                        OR (status = 'active' AND expires_at <= now()))
                   AND (claimed_until IS NULL OR claimed_until < now())
                 ORDER BY created_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             {RETURNING}"
        ))
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(lease_seconds)
        .load::<FileRecord>(&mut connection)
        .await?;
        Ok(claimed)
    }
}

type SortKey = Box<
    dyn diesel::expression::BoxableExpression<
            file_metadata::table,
            diesel::pg::Pg,
            SqlType = diesel::expression::expression_types::NotSelectable,
        >,
>;

fn sort_key(query: &ListQuery) -> SortKey {
    match (query.sort, query.descending) {
        (Sort::UploadedAt, true) => Box::new(file_metadata::uploaded_at.desc()),
        (Sort::UploadedAt, false) => Box::new(file_metadata::uploaded_at.asc()),
        (Sort::Name, true) => Box::new(file_metadata::original_name.desc()),
        (Sort::Name, false) => Box::new(file_metadata::original_name.asc()),
        (Sort::Size, true) => Box::new(file_metadata::size.desc()),
        (Sort::Size, false) => Box::new(file_metadata::size.asc()),
    }
}

fn filtered(
    user_id: Uuid,
    query: &ListQuery,
) -> file_metadata::BoxedQuery<'static, diesel::pg::Pg> {
    let rows = file_metadata::table
        .filter(file_metadata::user_id.eq(user_id))
        .into_boxed();
    // Live files are spelled as the partial index `file_metadata_user_list` is, so the
    // default listing reads one index range (the expired-but-visible rows are never live).
    let mut rows = match query.visibility {
        Visibility::Active => rows.filter(fixed::<Bool>(
            "status = 'active' AND (expires_at IS NULL OR expires_at > now())",
        )),
        Visibility::Expired => rows
            .filter(fixed::<Bool>(VISIBLE))
            .filter(fixed::<Bool>("expires_at <= now()")),
        Visibility::All => rows.filter(fixed::<Bool>(VISIBLE)),
    };
    if let Some(pattern) = query.like_pattern() {
        // Backslash is PostgreSQL's default LIKE escape, matching `like_pattern`.
        rows = rows.filter(file_metadata::original_name.ilike(pattern));
    }
    rows
}
