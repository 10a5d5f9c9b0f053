//! The auth service over gRPC, started on port 0 with a fresh database for each test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

mod sign_in;

use std::{collections::BTreeSet, process::Command};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{
    dsl::now,
    pg::Pg,
    prelude::*,
    sql_types::{Bool, Text},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use flowsvault_auth_service::{
    config::Config,
    schema::{api_keys, sessions, sign_in_attempts, users},
    sign_in::ProviderConfig,
    startup::Application,
};
use flowsvault_proto::{
    ErrorCode,
    auth::v1::{
        ApiKey, CreateApiKeyRequest, CreateApiKeyResponse, EnsureUserRequest, ListApiKeysRequest,
        RevokeApiKeyRequest, User, VerifyApiKeyRequest, VerifyApiKeyResponse,
        auth_service_client::AuthServiceClient,
    },
    from_timestamp, to_timestamp,
};
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

const DEFAULT_TEST_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub(crate) struct TestApp {
    pub(crate) client: AuthServiceClient<Channel>,
    database_url: String,
}

async fn spawn_app() -> TestApp {
    spawn_app_with(Vec::new()).await
}

pub(crate) async fn spawn_app_with(providers: Vec<ProviderConfig>) -> TestApp {
    flowsvault_kit::telemetry::init_for_tests();
    let server = std::env::var("FLOWSVAULT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_SERVER.to_owned());
    let database_url = flowsvault_kit::database::create_test_database(&server, "fv_test")
        .await
        .expect("creating the test database");
    let config = Config {
        listen_addr: "127.0.0.1:0".to_owned(),
        database_url: Some(database_url.clone()),
        database_pool_size: 4,
        provider_ids: Vec::new(),
        providers,
        session_ttl_days: 30,
    };
    let application = Application::build(config)
        .await
        .expect("building the application");
    let port = application.port();
    tokio::spawn(application.run_until_stopped(std::future::pending()));
    let channel = flowsvault_kit::grpc::channel(&format!("http://127.0.0.1:{port}"))
        .expect("creating the channel");
    TestApp {
        client: AuthServiceClient::new(channel),
        database_url,
    }
}

impl TestApp {
    pub(crate) async fn ensure_user(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<User, Status> {
        let request = EnsureUserRequest {
            email: email.to_owned(),
            name: name.map(str::to_owned),
        };
        let response = self.client.clone().ensure_user(request).await?;
        Ok(response.into_inner())
    }

    pub(crate) async fn create_api_key(
        &self,
        user_id: &str,
        name: &str,
        expires_in: Option<TimeDelta>,
    ) -> Result<CreateApiKeyResponse, Status> {
        let request = CreateApiKeyRequest {
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            expires_at: expires_in.map(|delta| to_timestamp(Utc::now() + delta)),
        };
        let response = self.client.clone().create_api_key(request).await?;
        Ok(response.into_inner())
    }

    async fn verify(&self, key: &str) -> Result<VerifyApiKeyResponse, Status> {
        let request = VerifyApiKeyRequest {
            key: key.to_owned(),
        };
        let response = self.client.clone().verify_api_key(request).await?;
        Ok(response.into_inner())
    }

    async fn list_keys(&self, user_id: &str) -> Result<Vec<ApiKey>, Status> {
        let request = ListApiKeysRequest {
            user_id: user_id.to_owned(),
        };
        let response = self.client.clone().list_api_keys(request).await?;
        Ok(response.into_inner().api_keys)
    }

    async fn revoke(&self, user_id: &str, id: &str) -> Result<ApiKey, Status> {
        let request = RevokeApiKeyRequest {
            user_id: user_id.to_owned(),
            id: id.to_owned(),
        };
        let response = self.client.clone().revoke_api_key(request).await?;
        Ok(response.into_inner())
    }

    /// A user with one key that does not expire.
    async fn user_with_key(&self) -> (User, CreateApiKeyResponse) {
        let user = self.ensure_user("ada@example.org", None).await.unwrap();
        let created = self.create_api_key(&user.id, "ci", None).await.unwrap();
        (user, created)
    }

    /// The bcrypt hash a key's row holds.
    async fn stored_hash(&self, key_id: Uuid) -> String {
        let mut connection = self.connection().await;
        api_keys::table
            .find(key_id)
            .select(api_keys::key_hash)
            .get_result(&mut connection)
            .await
            .unwrap()
    }

    async fn last_used_at(&self, key_id: Uuid) -> Option<DateTime<Utc>> {
        let mut connection = self.connection().await;
        api_keys::table
            .find(key_id)
            .select(api_keys::last_used_at)
            .get_result(&mut connection)
            .await
            .unwrap()
    }

    pub(crate) async fn connection(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("connecting to the test database")
    }
}

fn key_id(created: &CreateApiKeyResponse) -> Uuid {
    let message = created.api_key.as_ref().expect("the response has the key");
    Uuid::parse_str(&message.id).unwrap()
}

fn assert_refused(result: Result<VerifyApiKeyResponse, Status>) {
    let status = result.expect_err("the key was accepted");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(ErrorCode::of_status(&status), ErrorCode::Unauthenticated);
    assert_eq!(status.message(), "invalid api key");
}

/// The same key with one character of its secret changed.
fn with_wrong_secret(key: &str) -> String {
    let last = key.chars().last().unwrap();
    let replacement = if last == 'a' { 'b' } else { 'a' };
    format!("{}{replacement}", &key[..key.len() - 1])
}

#[tokio::test]
async fn a_created_key_verifies_as_its_owner() {
    let app = spawn_app().await;
    let (user, created) = app.user_with_key().await;

    let verified = app.verify(&created.key).await.unwrap();

    assert_eq!(verified.user_id, user.id);
    assert_eq!(verified.key_id, key_id(&created).to_string());
    assert_eq!(verified.expires_at, None);
}

#[tokio::test]
async fn a_created_key_is_described_without_its_secret() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;
    let message = created.api_key.as_ref().unwrap();

    assert_eq!(message.name, "ci");
    assert_eq!(message.prefix.len(), 8);
    assert!(created.key.starts_with(&format!("fv_{}_", message.prefix)));
    assert!(message.created_at.is_some());
    assert_eq!(message.last_used_at, None);
    assert_eq!(message.revoked_at, None);
}

#[tokio::test]
async fn only_a_bcrypt_hash_of_the_key_is_stored() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;

    let stored = app.stored_hash(key_id(&created)).await;

    assert!(stored.starts_with("$2b$10$"), "not a cost 10 bcrypt hash");
    assert!(!stored.contains(&created.key[12..]));
    assert!(bcrypt::verify(&created.key, &stored).unwrap());
}

#[tokio::test]
async fn a_wrong_secret_with_a_known_prefix_is_refused() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;

    assert_refused(app.verify(&with_wrong_secret(&created.key)).await);
}

#[tokio::test]
async fn an_unknown_prefix_is_refused() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;
    let prefix = &created.key[3..11];
    let other_prefix: String = prefix
        .chars()
        .map(|character| if character == 'Z' { 'Y' } else { 'Z' })
        .collect();

    let unknown = created.key.replacen(prefix, &other_prefix, 1);

    assert_refused(app.verify(&unknown).await);
}

#[tokio::test]
async fn a_malformed_key_is_refused() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;

    for malformed in [
        String::new(),
        "fv_".to_owned(),
        format!("Bearer {}", created.key),
        format!("{} ", created.key),
        created.key.replacen("fv_", "fx_", 1),
        created.key[..created.key.len() - 1].to_owned(),
        format!("{}0", created.key),
        created.key.replacen('_', "-", 2),
    ] {
        assert_refused(app.verify(&malformed).await);
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;
    app.verify(&created.key).await.unwrap();
    let mut connection = app.connection().await;

    diesel::update(api_keys::table.find(key_id(&created)))
        .set(api_keys::revoked_at.eq(now))
        .execute(&mut connection)
        .await
        .unwrap();

    assert_refused(app.verify(&created.key).await);
}

#[tokio::test]
async fn a_key_verified_before_is_checked_again_against_the_stored_hash() {
    let app = spawn_app().await;
    let (user, created) = app.user_with_key().await;
    let other = app.create_api_key(&user.id, "other", None).await.unwrap();
    app.verify(&created.key).await.unwrap();
    app.verify(&created.key).await.unwrap();
    let wrong_secret = format!("{}{}", &created.key[..12], "a".repeat(43));
    assert_refused(app.verify(&wrong_secret).await);
    let other_hash = app.stored_hash(key_id(&other)).await;
    let mut connection = app.connection().await;

    diesel::update(api_keys::table.find(key_id(&created)))
        .set(api_keys::key_hash.eq(other_hash))
        .execute(&mut connection)
        .await
        .unwrap();

    assert_refused(app.verify(&created.key).await);
    app.verify(&other.key).await.unwrap();
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = spawn_app().await;
    let user = app.ensure_user("ada@example.org", None).await.unwrap();
    let created = app
        .create_api_key(&user.id, "nightly", Some(TimeDelta::hours(1)))
        .await
        .unwrap();
    app.verify(&created.key).await.unwrap();
    let mut connection = app.connection().await;

    let an_hour_ago = Utc::now() - TimeDelta::hours(1);
    diesel::update(api_keys::table.find(key_id(&created)))
        .set(api_keys::expires_at.eq(an_hour_ago))
        .execute(&mut connection)
        .await
        .unwrap();

    assert_refused(app.verify(&created.key).await);
}

#[tokio::test]
async fn a_key_that_expires_later_verifies_and_says_when() {
    let app = spawn_app().await;
    let user = app.ensure_user("ada@example.org", None).await.unwrap();
    let created = app
        .create_api_key(&user.id, "nightly", Some(TimeDelta::days(7)))
        .await
        .unwrap();

    let verified = app.verify(&created.key).await.unwrap();

    let expires_at = from_timestamp(&verified.expires_at.unwrap()).unwrap();
    let from_now = expires_at - Utc::now();
    assert!(from_now > TimeDelta::days(7) - TimeDelta::minutes(1));
    assert!(from_now <= TimeDelta::days(7));
}

#[tokio::test]
async fn verifying_a_key_records_when_it_was_last_used() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;
    assert_eq!(app.last_used_at(key_id(&created)).await, None);

    app.verify(&created.key).await.unwrap();

    assert!(app.last_used_at(key_id(&created)).await.is_some());
}

#[tokio::test]
async fn a_failed_verification_does_not_record_a_use() {
    let app = spawn_app().await;
    let (_, created) = app.user_with_key().await;

    assert_refused(app.verify(&with_wrong_secret(&created.key)).await);

    assert_eq!(app.last_used_at(key_id(&created)).await, None);
}

fn assert_not_found(result: Result<ApiKey, Status>) {
    let status = result.expect_err("the key was revoked");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(ErrorCode::of_status(&status), ErrorCode::NotFound);
}

#[tokio::test]
async fn the_list_shows_the_users_own_keys_newest_first_without_secrets() {
    let app = spawn_app().await;
    let ada = app.ensure_user("ada@example.org", None).await.unwrap();
    let grace = app.ensure_user("grace@example.org", None).await.unwrap();
    let mut created = Vec::new();
    for name in ["first", "second", "third"] {
        created.push(app.create_api_key(&ada.id, name, None).await.unwrap());
    }
    app.create_api_key(&grace.id, "theirs", None).await.unwrap();

    let listed = app.list_keys(&ada.id).await.unwrap();

    let names: Vec<&str> = listed.iter().map(|key| key.name.as_str()).collect();
    assert_eq!(names, ["third", "second", "first"]);
    let listed_ids: Vec<&str> = listed.iter().map(|key| key.id.as_str()).collect();
    let newest_first: Vec<String> = created
        .iter()
        .rev()
        .map(|issued| key_id(issued).to_string())
        .collect();
    assert_eq!(listed_ids, newest_first);
    let mut connection = app.connection().await;
    let hashes: Vec<String> = api_keys::table
        .select(api_keys::key_hash)
        .load(&mut connection)
        .await
        .unwrap();
    let shown = format!("{listed:?}");
    for issued in &created {
        assert!(!shown.contains(&issued.key[12..]), "a secret is listed");
        let message = issued.api_key.as_ref().unwrap();
        assert!(listed.iter().any(|key| key.prefix == message.prefix));
    }
    for hash in hashes {
        assert!(!shown.contains(&hash), "a hash is listed");
    }
    assert!(!shown.contains("$2b$"));
}

#[tokio::test]
async fn the_list_keeps_revoked_and_expired_keys_as_history() {
    let app = spawn_app().await;
    let (user, revoked) = app.user_with_key().await;
    let expiring = app
        .create_api_key(&user.id, "nightly", Some(TimeDelta::hours(1)))
        .await
        .unwrap();
    app.revoke(&user.id, &key_id(&revoked).to_string())
        .await
        .unwrap();
    let mut connection = app.connection().await;
    diesel::update(api_keys::table.find(key_id(&expiring)))
        .set(api_keys::expires_at.eq(Utc::now() - TimeDelta::minutes(1)))
        .execute(&mut connection)
        .await
        .unwrap();

    let listed = app.list_keys(&user.id).await.unwrap();

    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].name, "nightly");
    assert!(listed[0].expires_at.is_some());
    assert_eq!(listed[0].revoked_at, None);
    assert_eq!(listed[1].name, "ci");
    assert!(listed[1].revoked_at.is_some());
}

#[tokio::test]
async fn a_user_without_keys_lists_none_and_a_malformed_user_id_is_invalid_argument() {
    let app = spawn_app().await;
    let user = app.ensure_user("ada@example.org", None).await.unwrap();

    assert!(app.list_keys(&user.id).await.unwrap().is_empty());
    let status = app.list_keys("not-a-uuid").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_revoked_key_is_refused_from_then_on() {
    let app = spawn_app().await;
    let (user, created) = app.user_with_key().await;
    app.verify(&created.key).await.unwrap();

    let revoked = app
        .revoke(&user.id, &key_id(&created).to_string())
        .await
        .unwrap();

    assert_eq!(revoked.id, key_id(&created).to_string());
    assert_eq!(revoked.name, "ci");
    let revoked_at = from_timestamp(&revoked.revoked_at.unwrap()).unwrap();
    assert!((Utc::now() - revoked_at).abs() < TimeDelta::minutes(1));
    assert_refused(app.verify(&created.key).await);
}

#[tokio::test]
async fn revoking_a_revoked_key_returns_it_unchanged() {
    let app = spawn_app().await;
    let (user, created) = app.user_with_key().await;
    let id = key_id(&created).to_string();

    let first = app.revoke(&user.id, &id).await.unwrap();
    let second = app.revoke(&user.id, &id).await.unwrap();

    assert!(first.revoked_at.is_some());
    assert_eq!(first, second);
    assert_refused(app.verify(&created.key).await);
}

#[tokio::test]
async fn another_users_key_cannot_be_revoked_and_keeps_working() {
    let app = spawn_app().await;
    let (owner, created) = app.user_with_key().await;
    let stranger = app.ensure_user("mallory@example.org", None).await.unwrap();

    assert_not_found(
        app.revoke(&stranger.id, &key_id(&created).to_string())
            .await,
    );

    let verified = app.verify(&created.key).await.unwrap();
    assert_eq!(verified.user_id, owner.id);
    let listed = app.list_keys(&owner.id).await.unwrap();
    assert_eq!(listed[0].revoked_at, None);
}

#[tokio::test]
async fn an_unknown_or_malformed_key_id_is_not_found() {
    let app = spawn_app().await;
    let (user, created) = app.user_with_key().await;

    for id in [
        Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        String::new(),
    ] {
        assert_not_found(app.revoke(&user.id, &id).await);
    }
    app.verify(&created.key).await.unwrap();
}

#[tokio::test]
async fn ensure_user_is_idempotent_and_ignores_the_case_of_the_email() {
    let app = spawn_app().await;

    let first = app
        .ensure_user("Ada.Lovelace@Example.org", Some("Ada"))
        .await
        .unwrap();
    let second = app
        .ensure_user("  ada.lovelace@EXAMPLE.ORG ", None)
        .await
        .unwrap();

    assert_eq!(first.id, second.id);
    assert_eq!(second.email, "ada.lovelace@example.org");
    assert_eq!(second.name.as_deref(), Some("Ada"));
    assert_eq!(first.created_at, second.created_at);
    let mut connection = app.connection().await;
    let count: i64 = users::table
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn ensure_user_updates_the_name_when_one_is_given() {
    let app = spawn_app().await;
    app.ensure_user("ada@example.org", Some("Ada"))
        .await
        .unwrap();

    let renamed = app
        .ensure_user("ada@example.org", Some("Countess of Lovelace"))
        .await
        .unwrap();

    assert_eq!(renamed.name.as_deref(), Some("Countess of Lovelace"));
}

#[tokio::test]
async fn ensure_user_refuses_an_invalid_email_as_invalid_argument() {
    let app = spawn_app().await;

    for email in ["", "ada", "ada@", "@example.org", "a@b@example.org"] {
        let status = app.ensure_user(email, None).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{email:?}");
        assert_eq!(ErrorCode::of_status(&status), ErrorCode::InvalidRequest);
    }
}

#[tokio::test]
async fn creating_a_key_for_an_unknown_user_is_not_found() {
    let app = spawn_app().await;

    let status = app
        .create_api_key(&Uuid::now_v7().to_string(), "ci", None)
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(ErrorCode::of_status(&status), ErrorCode::NotFound);
}

#[tokio::test]
async fn creating_a_key_with_an_invalid_request_is_invalid_argument() {
    let app = spawn_app().await;
    let user = app.ensure_user("ada@example.org", None).await.unwrap();
    let long_name = "k".repeat(101);

    let refusals = [
        app.create_api_key("not-a-uuid", "ci", None).await,
        app.create_api_key(&user.id, "  ", None).await,
        app.create_api_key(&user.id, &long_name, None).await,
        app.create_api_key(&user.id, "ci", Some(-TimeDelta::minutes(1)))
            .await,
    ];

    for refusal in refusals {
        let status = refusal.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
}

#[tokio::test]
async fn the_cli_prints_only_a_key_that_verifies() {
    let app = spawn_app().await;
    let database_url = app.database_url.clone();

    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_auth-service"))
            .args(["api-key", "create", "--email", "Grace@Example.org"])
            .args(["--name", "bootstrap", "--expires-in-days", "30"])
            .env("FLOWSVAULT_AUTH_DATABASE_URL", database_url)
            .output()
    })
    .await
    .unwrap()
    .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the cli failed: {stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = stdout.strip_suffix('\n').expect("a newline after the key");
    assert!(!key.contains('\n'), "stdout holds more than the key");
    let verified = app.verify(key).await.unwrap();
    let user = app.ensure_user("grace@example.org", None).await.unwrap();
    assert_eq!(verified.user_id, user.id);
    assert!(verified.expires_at.is_some());
}

#[tokio::test]
async fn the_cli_explains_an_invalid_email_on_stderr_and_fails() {
    let app = spawn_app().await;
    let database_url = app.database_url.clone();

    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_auth-service"))
            .args(["api-key", "create", "--email", "nobody", "--name", "ci"])
            .env("FLOWSVAULT_AUTH_DATABASE_URL", database_url)
            .output()
    })
    .await
    .unwrap()
    .unwrap();

    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid email address"), "stderr: {stderr}");
}

#[derive(QueryableByName)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

async fn database_columns(connection: &mut AsyncPgConnection, table: &str) -> Vec<(String, bool)> {
    diesel::sql_query(
        "SELECT column_name::text AS column_name, is_nullable = 'YES' AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind::<Text, _>(table)
    .load::<ColumnInfo>(connection)
    .await
    .unwrap()
    .into_iter()
    .map(|column| (column.column_name, column.nullable))
    .collect()
}

/// The column names of a diesel select, in order, read from the SQL diesel writes.
fn selected_columns<Q: diesel::query_builder::QueryFragment<Pg>>(
    query: &Q,
    table: &str,
) -> Vec<String> {
    let sql = diesel::debug_query::<Pg, _>(query).to_string();
    let quoted_table = format!("\"{table}\".\"");
    sql.split(&quoted_table)
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_owned()))
        .collect()
}

#[tokio::test]
async fn schema_rs_matches_the_migrated_tables() {
    let app = spawn_app().await;
    let mut connection = app.connection().await;

    let tables = [
        (
            "users",
            selected_columns(&users::table.select(users::all_columns), "users"),
        ),
        (
            "api_keys",
            selected_columns(&api_keys::table.select(api_keys::all_columns), "api_keys"),
        ),
        (
            "sessions",
            selected_columns(&sessions::table.select(sessions::all_columns), "sessions"),
        ),
        (
            "sign_in_attempts",
            selected_columns(
                &sign_in_attempts::table.select(sign_in_attempts::all_columns),
                "sign_in_attempts",
            ),
        ),
    ];
    for (table, in_schema_rs) in tables {
        let in_database = database_columns(&mut connection, table).await;
        let names: Vec<&str> = in_database.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, in_schema_rs, "columns of {table}");
    }

    let nullable: BTreeSet<String> = [
        database_columns(&mut connection, "users").await,
        database_columns(&mut connection, "api_keys").await,
        database_columns(&mut connection, "sessions").await,
        database_columns(&mut connection, "sign_in_attempts").await,
    ]
    .concat()
    .into_iter()
    .filter(|(_, nullable)| *nullable)
    .map(|(name, _)| name)
    .collect();
    let expected: BTreeSet<String> = [
        "name",
        "image",
        "picture_key",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(nullable, expected);

    // Every column decodes as the type schema.rs declares.
    let (_, created) = app.user_with_key().await;
    app.verify(&created.key).await.unwrap();
    users::table
        .select(users::all_columns)
        .load::<(
            Uuid,
            String,
            Option<String>,
            Option<String>,
            DateTime<Utc>,
            DateTime<Utc>,
            Option<String>,
        )>(&mut connection)
        .await
        .unwrap();
    api_keys::table
        .select(api_keys::all_columns)
        .load::<(
            Uuid,
            Uuid,
            String,
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )>(&mut connection)
        .await
        .unwrap();
    sessions::table
        .select(sessions::all_columns)
        .load::<(
            Uuid,
            Uuid,
            Vec<u8>,
            DateTime<Utc>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
        )>(&mut connection)
        .await
        .unwrap();
    sign_in_attempts::table
        .select(sign_in_attempts::all_columns)
        .load::<(
            Vec<u8>,
            String,
            String,
            String,
            String,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
        )>(&mut connection)
        .await
        .unwrap();
}
