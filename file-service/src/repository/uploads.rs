//! Queries on `upload_sessions`: the state of resumable uploads. The file row and its
//! session are created in one statement; expiry and leases are judged by the database
//! clock, and only the lease holder may move the offset.

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension, QueryableByName,
    sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    FileRecord, FileRepository, FileRow, NewFile,
    cached::{Value, statement},
};
use crate::error::FileError;

/// A session with its file, and what the database clock says of it.
#[derive(Debug, QueryableByName)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct SessionRecord {
    #[diesel(embed)]
    pub file: FileRow,
    #[diesel(sql_type = Bool)]
    pub file_expired: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub upload_length: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub upload_offset: i64,
    #[diesel(sql_type = Text)]
    pub metadata: String,
    #[diesel(sql_type = Timestamptz)]
    pub session_expires_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    pub session_expired: bool,
}

/// A session as a lease request found it, and whether the lease is now the caller's.
#[derive(Debug, QueryableByName)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct LeaseRecord {
    #[diesel(embed)]
    pub session: SessionRecord,
    #[diesel(sql_type = Bool)]
    pub leased: bool,
}

impl SessionRecord {
    pub fn file_record(&self) -> FileRecord {
        FileRecord {
            metadata: self.file.clone(),
            expired: self.file_expired,
        }
    }
}

pub struct NewSession<'a> {
    pub length: Option<i64>,
    pub metadata: &'a str,
    pub expires_in_seconds: i64,
}

/// What a session record reads of `upload_sessions u` joined with `file_metadata f`.
macro_rules! session_columns {
    () => {
        "f.*, coalesce(f.expires_at <= now(), false) AS file_expired,
         u.upload_length, u.upload_offset, u.metadata, u.expires_at AS session_expires_at,
         u.expires_at <= now() AS session_expired"
    };
}

impl FileRepository {
    /// The pending file and its session, in one statement.
    #[tracing::instrument(skip(self, new, session), fields(id = %new.id))]
    pub async fn insert_resumable(
        &self,
        new: NewFile,
        session: NewSession<'_>,
    ) -> Result<SessionRecord, FileError> {
        let mut connection = self.pool.get().await?;
        connection
            .transaction(async |connection| {
                if new.quota_bytes > 0 {
                    super::lock_usage(connection, new.user_id).await?;
                }
                diesel::sql_query(
                    "WITH f AS (
                         INSERT INTO file_metadata
                             (id, user_id, original_name, file_name, extension, mime_type,
                              duration, status, reserved_bytes)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $11)
                         RETURNING id, user_id
                     )
                     INSERT INTO upload_sessions (id, user_id, upload_length, metadata, expires_at)
                     SELECT id, user_id, $8, $9, now() + make_interval(secs => $10::double precision)
                     FROM f",
                )
                .bind::<SqlUuid, _>(new.id)
                .bind::<SqlUuid, _>(new.user_id)
                .bind::<Text, _>(&new.original_name)
                .bind::<Text, _>(&new.file_name)
                .bind::<Text, _>(&new.extension)
                .bind::<Text, _>(&new.mime_type)
                .bind::<Text, _>(new.duration)
                .bind::<Nullable<BigInt>, _>(session.length)
                .bind::<Text, _>(session.metadata)
                .bind::<BigInt, _>(session.expires_in_seconds)
                .bind::<BigInt, _>(new.reserve_bytes)
                .execute(connection)
                .await?;
                super::reserve_within_quota(connection, new.user_id, new.quota_bytes).await
            })
            .await?;
        self.session(new.user_id, new.id)
            .await?
            .ok_or(FileError::NotFound)
    }

    /// The user's session `id` with its file, whatever their state.
    #[tracing::instrument(skip(self))]
    pub async fn session(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<Option<SessionRecord>, FileError> {
        let mut connection = self.pool.get().await?;
        let found = statement(
            &[
                concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM upload_sessions u JOIN file_metadata f ON f.id = u.id
                     WHERE u.id = "
                ),
                " AND u.user_id = ",
                "",
            ],
            vec![Value::Uuid(id), Value::Uuid(user_id)],
        )
        .get_result(&mut connection)
        .await
        .optional()?;
        Ok(found)
    }

    /// Takes or renews the lease for `holder`, if the upload is still pending and
    /// unexpired and no other holder's lease still runs; in the same statement, the
    /// session as it was before. `None` when the user has no such session.
    #[tracing::instrument(skip(self))]
    pub async fn lease(
        &self,
        user_id: Uuid,
        id: Uuid,
        holder: Uuid,
        seconds: i32,
    ) -> Result<Option<LeaseRecord>, FileError> {
        let mut connection = self.pool.get().await?;
        let found = statement(
            &[
                concat!(
                    "WITH s AS (
                         SELECT ",
                    session_columns!(),
                    " FROM upload_sessions u JOIN file_metadata f ON f.id = u.id
                         WHERE u.id = "
                ),
                " AND u.user_id = ",
                "
                     ), taken AS (
                         UPDATE upload_sessions u
                         SET lease_holder = ",
                ", lease_until = now() + make_interval(secs => ",
                ")
                         FROM s
                         WHERE u.id = s.id AND s.status = 'pending' AND NOT s.session_expired
                             AND (u.lease_holder IS NULL OR u.lease_holder = ",
                " OR u.lease_until <= now())
                         RETURNING u.id
                     )
                     SELECT s.*, EXISTS (SELECT 1 FROM taken) AS leased FROM s",
            ],
            vec![
                Value::Uuid(id),
                Value::Uuid(user_id),
                Value::Uuid(holder),
                Value::Int(seconds),
                Value::Uuid(holder),
            ],
        )
        .get_result(&mut connection)
        .await
        .optional()?;
        Ok(found)
    }

    /// Moves the offset (and sets a deferred length), only for the lease holder; with
    /// `release`, the lease goes in the same statement. The session as it is then, or
    /// `None` when `holder` does not hold the lease.
    #[tracing::instrument(skip(self))]
    pub async fn record_offset(
        &self,
        user_id: Uuid,
        id: Uuid,
        holder: Uuid,
        offset: i64,
        length: Option<i64>,
        release: bool,
    ) -> Result<Option<SessionRecord>, FileError> {
        let mut connection = self.pool.get().await?;
        let recorded = statement(
            &[
                "WITH u AS (
                     UPDATE upload_sessions
                     SET upload_offset = ",
                ", upload_length = coalesce(upload_length, ",
                "),
                         lease_holder = CASE WHEN ",
                " THEN NULL ELSE lease_holder END,
                         lease_until = CASE WHEN ",
                " THEN NULL ELSE lease_until END
                     WHERE id = ",
                " AND user_id = ",
                " AND lease_holder = ",
                concat!(
                    " AND lease_until > now()
                     RETURNING *
                 )
                 SELECT ",
                    session_columns!(),
                    " FROM u JOIN file_metadata f ON f.id = u.id"
                ),
            ],
            vec![
                Value::BigInt(offset),
                Value::MaybeBigInt(length),
                Value::Bool(release),
                Value::Bool(release),
                Value::Uuid(id),
                Value::Uuid(user_id),
                Value::Uuid(holder),
            ],
        )
        .get_result(&mut connection)
        .await
        .optional()?;
        Ok(recorded)
    }

    /// Gives the lease up, if `holder` has it.
    #[tracing::instrument(skip(self))]
    pub async fn release(&self, user_id: Uuid, id: Uuid, holder: Uuid) -> Result<(), FileError> {
        let mut connection = self.pool.get().await?;
        statement(
            &[
                "UPDATE upload_sessions SET lease_holder = NULL, lease_until = NULL
                 WHERE id = ",
                " AND user_id = ",
                " AND lease_holder = ",
                "",
            ],
            vec![Value::Uuid(id), Value::Uuid(user_id), Value::Uuid(holder)],
        )
        .execute(&mut connection)
        .await?;
        Ok(())
    }
}
