//! Queries on `sessions` and `sign_in_attempts`, and on users as sign-in and account
//! deletion see them. Expiry is always judged by the database's clock.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::Timestamptz,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::{Repository, User, coalesce};
use crate::{
    domain::{Email, UserName},
    error::{AuthError, DatabaseContext},
    schema::{api_keys, sessions, sign_in_attempts, users},
};

/// A sign-in in flight, as its callback finds it.
#[derive(Debug, Queryable)]
pub struct SignInAttempt {
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub callback_url: String,
}

pub struct NewAttempt<'a> {
    pub state_hash: &'a [u8],
    pub provider: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub redirect_uri: &'a str,
    pub callback_url: &'a str,
    pub lifetime: chrono::Duration,
}

/// What account deletion removed that lives outside this service's tables.
#[derive(Debug, Default)]
pub struct DeletedUser {
    pub api_key_ids: Vec<Uuid>,
    pub picture_key: Option<String>,
}

impl Repository {
    /// Records an attempt, and drops attempts that expired unused on the way.
    #[tracing::instrument(skip_all, fields(provider = attempt.provider))]
    pub async fn insert_attempt(&self, attempt: NewAttempt<'_>) -> Result<(), AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        diesel::delete(sign_in_attempts::table)
            .filter(sign_in_attempts::expires_at.le(now))
            .execute(&mut connection)
            .await
            .context("dropping expired sign-in attempts")?;
        diesel::insert_into(sign_in_attempts::table)
            .values((
                sign_in_attempts::state_hash.eq(attempt.state_hash),
                sign_in_attempts::provider.eq(attempt.provider),
                sign_in_attempts::nonce.eq(attempt.nonce),
                sign_in_attempts::pkce_verifier.eq(attempt.pkce_verifier),
                sign_in_attempts::redirect_uri.eq(attempt.redirect_uri),
                sign_in_attempts::callback_url.eq(attempt.callback_url),
                sign_in_attempts::expires_at.eq(now.into_sql::<Timestamptz>() + attempt.lifetime),
            ))
            .execute(&mut connection)
            .await
            .context("recording the sign-in attempt")?;
        Ok(())
    }

    /// Removes the attempt with this state and returns it unless it had expired: a state
    /// is good for one callback only, so a replayed one finds nothing.
    #[tracing::instrument(skip_all)]
    pub async fn take_attempt(
        &self,
        state_hash: &[u8],
    ) -> Result<Option<SignInAttempt>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        let taken: Option<(SignInAttempt, bool)> = diesel::delete(sign_in_attempts::table)
            .filter(sign_in_attempts::state_hash.eq(state_hash))
            .returning((
                (
                    sign_in_attempts::provider,
                    sign_in_attempts::nonce,
                    sign_in_attempts::pkce_verifier,
                    sign_in_attempts::redirect_uri,
                    sign_in_attempts::callback_url,
                ),
                sign_in_attempts::expires_at.gt(now),
            ))
            .get_result(&mut connection)
            .await
            .optional()
            .context("taking the sign-in attempt")?;
        Ok(taken.and_then(|(attempt, live)| live.then_some(attempt)))
    }

    /// Creates the user of a verified email, or refreshes its name and provider picture.
    #[tracing::instrument(skip_all)]
    pub async fn upsert_signed_in_user(
        &self,
        email: &Email,
        name: Option<&UserName>,
        image: Option<&str>,
    ) -> Result<User, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        diesel::insert_into(users::table)
            .values((
                users::id.eq(Uuid::now_v7()),
                users::email.eq(email.as_str()),
                users::name.eq(name.map(UserName::as_str)),
                users::image.eq(image),
            ))
            .on_conflict(users::email)
            .do_update()
            .set((
                users::name.eq(coalesce(diesel::upsert::excluded(users::name), users::name)),
                users::image.eq(coalesce(
                    diesel::upsert::excluded(users::image),
                    users::image,
                )),
                users::updated_at.eq(now),
            ))
            .returning(User::as_returning())
            .get_result(&mut connection)
            .await
            .context("upserting the signed-in user")
    }

    /// Opens a session; `UserNotFound` when the user does not exist (any more).
    #[tracing::instrument(skip_all, fields(%user_id))]
    pub async fn insert_session(
        &self,
        user_id: Uuid,
        token_hash: &[u8],
        lifetime: chrono::Duration,
    ) -> Result<DateTime<Utc>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        let inserted = diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(Uuid::now_v7()),
                sessions::user_id.eq(user_id),
                sessions::token_hash.eq(token_hash),
                sessions::expires_at.eq(now.into_sql::<Timestamptz>() + lifetime),
            ))
            .returning(sessions::expires_at)
            .get_result(&mut connection)
            .await;
        match inserted {
            Ok(expires_at) => Ok(expires_at),
            Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                Err(AuthError::UserNotFound)
            }
            Err(error) => Err(error).context("opening the session"),
        }
    }

    /// The user of a live session (neither revoked nor expired) and its expiry.
    #[tracing::instrument(skip_all)]
    pub async fn find_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(User, DateTime<Utc>)>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .select((User::as_select(), sessions::expires_at))
            .first(&mut connection)
            .await
            .optional()
            .context("looking up the session")
    }

    /// Revokes a session at once. Returns whether a live one was revoked.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_session(&self, token_hash: &[u8]) -> Result<bool, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        let revoked = diesel::update(sessions::table)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::revoked_at.is_null())
            .set(sessions::revoked_at.eq(now))
            .execute(&mut connection)
            .await
            .context("revoking the session")?;
        Ok(revoked > 0)
    }

    #[tracing::instrument(skip(self))]
    pub async fn find_user(&self, user_id: Uuid) -> Result<Option<User>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        users::table
            .find(user_id)
            .select(User::as_select())
            .first(&mut connection)
            .await
            .optional()
            .context("loading the user")
    }

    /// Points the user at a new uploaded picture; returns the user and the picture key
    /// it replaced, read in the same transaction so no replaced object is forgotten.
    #[tracing::instrument(skip(self))]
    pub async fn set_picture(
        &self,
        user_id: Uuid,
        picture_key: &str,
    ) -> Result<Option<(User, Option<String>)>, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        let picture_key = picture_key.to_owned();
        connection
            .transaction(async |connection| {
                let previous: Option<Option<String>> = users::table
                    .find(user_id)
                    .select(users::picture_key)
                    .for_update()
                    .first(connection)
                    .await
                    .optional()?;
                let Some(previous) = previous else {
                    return Ok(None);
                };
                let user = diesel::update(users::table.find(user_id))
                    .set((
                        users::picture_key.eq(&picture_key),
                        users::updated_at.eq(now),
                    ))
                    .returning(User::as_returning())
                    .get_result(connection)
                    .await?;
                Ok(Some((user, previous)))
            })
            .await
            .context("recording the user's picture")
    }

    /// Deletes the user with (by cascade) its sessions and keys. A missing user is
    /// already deleted: the answer is then empty.
    #[tracing::instrument(skip(self))]
    pub async fn delete_user(&self, user_id: Uuid) -> Result<DeletedUser, AuthError> {
        let mut connection = self.pool.get().await.map_err(AuthError::Pool)?;
        connection
            .transaction(async |connection| {
                let picture: Option<Option<String>> = users::table
                    .find(user_id)
                    .select(users::picture_key)
                    .for_update()
                    .first(connection)
                    .await
                    .optional()?;
                let Some(picture_key) = picture else {
                    return Ok(DeletedUser::default());
                };
                let api_key_ids = api_keys::table
                    .filter(api_keys::user_id.eq(user_id))
                    .select(api_keys::id)
                    .load(connection)
                    .await?;
                diesel::delete(users::table.find(user_id))
                    .execute(connection)
                    .await?;
                Ok(DeletedUser {
                    api_key_ids,
                    picture_key,
                })
            })
            .await
            .context("deleting the user")
    }
}
