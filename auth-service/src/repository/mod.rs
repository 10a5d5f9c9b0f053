//! diesel-async queries on `users` and `api_keys`, and the migrations that create them.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::{Nullable, SingleValue},
    upsert::excluded,
};
use diesel_async::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use flowsvault_kit::database::Pool;
use uuid::Uuid;

mod sessions;

pub use sessions::{DeletedUser, NewAttempt, SignInAttempt};

use crate::{
    domain::{ApiKeyName, Email, KeyExpiry, KeyHash, UserName},
    error::{AuthError, DatabaseContext},
    schema::{api_keys, users},
};

/// The migrations under `migrations/`, applied at start-up.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

diesel::define_sql_function! {
    /// The first of its arguments that is not null.
    fn coalesce<T: SingleValue>(first: Nullable<T>, second: Nullable<T>) -> Nullable<T>;
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub picture_key: Option<String>,
}

/// A key's row without its hash: what may be shown to the key's owner.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct StoredApiKey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key that is neither revoked nor expired, with the hash to check a presented key on.
#[derive(Debug)]
pub struct UsableKey {
    pub id: Uuid,
    pub key_hash: KeyHash,
}

/// The owner of a key that was just used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Queryable)]
pub struct UsedKey {
    pub user_id: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
}

pub struct NewApiKey<'a> {
    pub user_id: Uuid,
    pub name: &'a ApiKeyName,
    pub prefix: &'a str,
    pub key_hash: &'a KeyHash,
    pub expires_at: Option<KeyExpiry>,
}

#[derive(Clone)]
pub struct Repository {
    pool: Pool,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        formatter
            .debug_struct("Repository")
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish()
    }
}

impl Repository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Creates the user for `email`, or updates its name when one is given.
    #[tracing::instrument(skip_all)]
    pub async fn ensure_user(
        &self,
        email: &Email,
        name: Option<&UserName>,
    ) -> Result<User, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        diesel::insert_into(users::table)
            .values((
                users::id.eq(Uuid::now_v7()),
                users::email.eq(email.as_str()),
                users::name.eq(name.map(UserName::as_str)),
            ))
            .on_conflict(users::email)
            .do_update()
            .set((
                users::name.eq(coalesce(excluded(users::name), users::name)),
                users::updated_at.eq(now),
            ))
            .returning(User::as_returning())
            .get_result(&mut connection)
            .await
            .context("upserting the user")
    }

    /// Inserts a key. `None` when its prefix is taken already (the caller draws another
    /// key); `UserNotFound` when the user does not exist.
    #[tracing::instrument(skip_all, fields(user_id = %key.user_id))]
    pub async fn insert_api_key(
        &self,
        key: NewApiKey<'_>,
    ) -> Result<Option<StoredApiKey>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        let inserted = diesel::insert_into(api_keys::table)
            .values((
                api_keys::id.eq(Uuid::now_v7()),
                api_keys::user_id.eq(key.user_id),
                api_keys::name.eq(key.name.as_str()),
                api_keys::prefix.eq(key.prefix),
                api_keys::key_hash.eq(key.key_hash.as_str()),
                api_keys::expires_at.eq(key.expires_at.map(KeyExpiry::at)),
            ))
            .returning(StoredApiKey::as_returning())
            .get_result(&mut connection)
            .await;
        match inserted {
            Ok(stored) => Ok(Some(stored)),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
            Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                Err(AuthError::UserNotFound)
            }
            Err(error) => Err(error).context("inserting the api key"),
        }
    }

    /// The key with `prefix` if it is neither revoked nor expired by the database clock.
    #[tracing::instrument(skip_all)]
    pub async fn find_usable_key(&self, prefix: &str) -> Result<Option<UsableKey>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        let found: Option<(Uuid, String)> = api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .filter(api_keys::revoked_at.is_null())
            .filter(
                api_keys::expires_at
                    .is_null()
                    .or(api_keys::expires_at.gt(now)),
            )
            .select((api_keys::id, api_keys::key_hash))
            .first(&mut connection)
            .await
            .optional()
            .context("looking up the api key")?;
        Ok(found.map(|(id, key_hash)| UsableKey {
            id,
            key_hash: KeyHash::from_stored(key_hash),
        }))
    }

    /// Records that the key was used, unless it was revoked or expired in the meantime
    /// (then `None`).
    #[tracing::instrument(skip(self))]
    pub async fn mark_key_used(&self, key_id: Uuid) -> Result<Option<UsedKey>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        diesel::update(api_keys::table)
            .filter(api_keys::id.eq(key_id))
            .filter(api_keys::revoked_at.is_null())
            .filter(
                api_keys::expires_at
                    .is_null()
                    .or(api_keys::expires_at.gt(now)),
            )
            .set(api_keys::last_used_at.eq(now))
            .returning((api_keys::user_id, api_keys::expires_at))
            .get_result(&mut connection)
            .await
            .optional()
            .context("recording the api key's use")
    }

    /// Every key of the user, newest first, revoked and expired ones included.
    #[tracing::instrument(skip(self))]
    pub async fn list_api_keys(&self, user_id: Uuid) -> Result<Vec<StoredApiKey>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            // Ids are UUIDv7, so they break ties between keys made in the same instant.
            .order((api_keys::created_at.desc(), api_keys::id.desc()))
            .select(StoredApiKey::as_select())
            .load(&mut connection)
            .await
            .context("listing the api keys")
    }

    /// Revokes the user's key `key_id` unless it is revoked already, in one statement:
    /// the first revocation time is kept. `None` when the user has no such key.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_api_key(
        &self,
        user_id: Uuid,
        key_id: Uuid,
    ) -> Result<Option<StoredApiKey>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        diesel::update(api_keys::table)
            .filter(api_keys::id.eq(key_id))
            .filter(api_keys::user_id.eq(user_id))
            .set(api_keys::revoked_at.eq(coalesce(api_keys::revoked_at, now)))
            .returning(StoredApiKey::as_returning())
            .get_result(&mut connection)
            .await
            .optional()
            .context("revoking the api key")
    }
}
