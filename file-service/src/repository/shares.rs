//! Queries on `file_shares` and `file_share_grants`. Whether a link, or the file behind
//! it, has expired is always decided by the database clock; counting a download is one
//! statement, so `max_downloads` holds however many requests race.

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension, QueryableByName,
    sql_types::{Bool, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{FileRecord, FileRepository, FileRow};
use crate::error::FileError;

/// How long a counted download may resume with ranges without counting again.
pub const GRANT_HOURS: i32 = 24;

/// A link as its owner sees it.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ShareRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub file_id: Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub max_downloads: Option<i32>,
    #[diesel(sql_type = Integer)]
    pub downloads: i32,
    #[diesel(sql_type = Bool)]
    pub has_password: bool,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A link found by its token, with its file and what the database clock says of both.
#[derive(Debug, QueryableByName)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct SharedRecord {
    #[diesel(embed)]
    pub file: FileRow,
    #[diesel(sql_type = Bool)]
    pub file_expired: bool,
    #[diesel(sql_type = SqlUuid)]
    pub share_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub password_hash: Option<String>,
    #[diesel(sql_type = Bool)]
    pub revoked: bool,
    #[diesel(sql_type = Bool)]
    pub share_expired: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub share_expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub max_downloads: Option<i32>,
    #[diesel(sql_type = Integer)]
    pub downloads: i32,
}

impl SharedRecord {
    pub fn file_record(&self) -> FileRecord {
        FileRecord {
            metadata: self.file.clone(),
            expired: self.file_expired,
        }
    }
}

pub struct NewShare<'a> {
    pub user_id: Uuid,
    pub file_id: Uuid,
    pub token_hash: &'a [u8],
    pub password_hash: Option<&'a str>,
    pub expires_in_seconds: Option<i64>,
    pub max_downloads: Option<i32>,
}

const SHARE_COLUMNS: &str = "id, file_id, expires_at, max_downloads, downloads, \
    password_hash IS NOT NULL AS has_password, created_at, revoked_at";

#[derive(QueryableByName)]
struct FileState {
    #[diesel(sql_type = Bool)]
    live: bool,
    #[diesel(sql_type = Bool)]
    expired: bool,
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code, reason = "read only to learn whether a row came back")]
    share_id: Uuid,
}

impl FileRepository {
    /// A link to one of the user's active files. `NotFound` for another user's file or
    /// one that is gone; `FileExpired` once it has expired.
    #[tracing::instrument(skip(self, share), fields(file_id = %share.file_id))]
    pub async fn create_share(&self, share: NewShare<'_>) -> Result<ShareRow, FileError> {
        let mut connection = self.pool.get().await?;
        let state: FileState = diesel::sql_query(
            "SELECT status = 'active' AS live, coalesce(expires_at <= now(), false) AS expired
             FROM file_metadata WHERE id = $1 AND user_id = $2",
        )
        .bind::<SqlUuid, _>(share.file_id)
        .bind::<SqlUuid, _>(share.user_id)
        .get_result(&mut connection)
        .await
        .optional()?
        .ok_or(FileError::NotFound)?;
        if state.live && state.expired {
            return Err(FileError::FileExpired);
        }
        // Inserted only while the file is still the user's and active and unexpired.
        diesel::sql_query(format!(
            "INSERT INTO file_shares (id, file_id, user_id, token_hash, password_hash,
                                      expires_at, max_downloads)
             SELECT $1, id, user_id, $4, $5,
                    now() + make_interval(secs => $6::double precision), $7
             FROM file_metadata
             WHERE id = $2 AND user_id = $3 AND status = 'active'
               AND (expires_at IS NULL OR expires_at > now())
             RETURNING {SHARE_COLUMNS}"
        ))
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<SqlUuid, _>(share.file_id)
        .bind::<SqlUuid, _>(share.user_id)
        .bind::<Bytea, _>(share.token_hash)
        .bind::<Nullable<Text>, _>(share.password_hash)
        .bind::<Nullable<diesel::sql_types::BigInt>, _>(share.expires_in_seconds)
        .bind::<Nullable<Integer>, _>(share.max_downloads)
        .get_result(&mut connection)
        .await
        .optional()?
        .ok_or(FileError::NotFound)
    }

    /// The user's links to one file, newest first, revoked ones included.
    #[tracing::instrument(skip(self))]
    pub async fn list_shares(
        &self,
        user_id: Uuid,
        file_id: Uuid,
    ) -> Result<Vec<ShareRow>, FileError> {
        let mut connection = self.pool.get().await?;
        let shares = diesel::sql_query(format!(
            "SELECT {SHARE_COLUMNS} FROM file_shares
             WHERE file_id = $1 AND user_id = $2
             ORDER BY created_at DESC, id DESC"
        ))
        .bind::<SqlUuid, _>(file_id)
        .bind::<SqlUuid, _>(user_id)
        .load(&mut connection)
        .await?;
        Ok(shares)
    }

    /// Revokes one of the user's links; the first revocation time is kept.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_share(&self, user_id: Uuid, id: Uuid) -> Result<ShareRow, FileError> {
        let mut connection = self.pool.get().await?;
        diesel::sql_query(format!(
            "UPDATE file_shares SET revoked_at = coalesce(revoked_at, now())
             WHERE id = $1 AND user_id = $2
             RETURNING {SHARE_COLUMNS}"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user_id)
        .get_result(&mut connection)
        .await
        .optional()?
        .ok_or(FileError::NotFound)
    }

    /// The link with this token hash and its file, whatever their state.
    #[tracing::instrument(skip_all)]
    pub async fn find_share(&self, token_hash: &[u8]) -> Result<Option<SharedRecord>, FileError> {
        let mut connection = self.pool.get().await?;
        let found = diesel::sql_query(
            "SELECT f.*, coalesce(f.expires_at <= now(), false) AS file_expired,
                    s.id AS share_id, s.password_hash, s.revoked_at IS NOT NULL AS revoked,
                    coalesce(s.expires_at <= now(), false) AS share_expired,
                    s.expires_at AS share_expires_at, s.max_downloads, s.downloads
             FROM file_shares s JOIN file_metadata f ON f.id = s.file_id
             WHERE s.token_hash = $1",
        )
        .bind::<Bytea, _>(token_hash)
        .get_result(&mut connection)
        .await
        .optional()?;
        Ok(found)
    }

    /// Whether `grant_hash` is a live grant of this link.
    #[tracing::instrument(skip_all)]
    pub async fn grant_is_valid(
        &self,
        share_id: Uuid,
        grant_hash: &[u8],
    ) -> Result<bool, FileError> {
        let mut connection = self.pool.get().await?;
        let found: Option<Counted> = diesel::sql_query(
            "SELECT share_id FROM file_share_grants
             WHERE grant_hash = $1 AND share_id = $2 AND expires_at > now()",
        )
        .bind::<Bytea, _>(grant_hash)
        .bind::<SqlUuid, _>(share_id)
        .get_result(&mut connection)
        .await
        .optional()?;
        Ok(found.is_some())
    }

    /// Counts one download and records its grant, in one statement, only while the link
    /// is live (not revoked, not expired, downloads left) and its file too. `false` when
    /// nothing was counted.
    #[tracing::instrument(skip(self, grant_hash))]
    pub async fn count_download(
        &self,
        share_id: Uuid,
        grant_hash: &[u8],
    ) -> Result<bool, FileError> {
        let mut connection = self.pool.get().await?;
        let counted: Option<Counted> = diesel::sql_query(
            "WITH counted AS (
                 UPDATE file_shares s SET downloads = downloads + 1
                 WHERE s.id = $1 AND s.revoked_at IS NULL
                   AND (s.expires_at IS NULL OR s.expires_at > now())
                   AND (s.max_downloads IS NULL OR s.downloads < s.max_downloads)
                   AND EXISTS (SELECT 1 FROM file_metadata f
                               WHERE f.id = s.file_id AND f.status = 'active'
                                 AND (f.expires_at IS NULL OR f.expires_at > now()))
                 RETURNING s.id
             )
             INSERT INTO file_share_grants (grant_hash, share_id, expires_at)
             SELECT $2, id, now() + make_interval(hours => $3) FROM counted
             RETURNING share_id",
        )
        .bind::<SqlUuid, _>(share_id)
        .bind::<Bytea, _>(grant_hash)
        .bind::<Integer, _>(GRANT_HOURS)
        .get_result(&mut connection)
        .await
        .optional()?;
        Ok(counted.is_some())
    }
}

impl FileRepository {
    /// Deletes links whose file is deleted or purged, links that expired or were revoked
    /// more than `retention_seconds` ago, and grants past their expiry; returns how many
    /// of each.
    #[tracing::instrument(skip(self))]
    pub async fn purge_shares(&self, retention_seconds: i64) -> Result<(u64, u64), FileError> {
        let mut connection = self.pool.get().await?;
        let grants = diesel::sql_query("DELETE FROM file_share_grants WHERE expires_at <= now()")
            .execute(&mut connection)
            .await?;
        let shares = diesel::sql_query(
            "DELETE FROM file_shares s
             WHERE s.expires_at <= now() - make_interval(secs => $1::double precision)
                OR s.revoked_at <= now() - make_interval(secs => $1::double precision)
                OR EXISTS (SELECT 1 FROM file_metadata f
                           WHERE f.id = s.file_id AND f.status IN ('deleted', 'purged'))",
        )
        .bind::<diesel::sql_types::BigInt, _>(retention_seconds)
        .execute(&mut connection)
        .await?;
        Ok((shares as u64, grants as u64))
    }
}
