//! Sign-in against the real OpenID provider that `make test` starts, sessions, and
//! account deletion.

use diesel::{dsl::now, prelude::*};
use diesel_async::RunQueryDsl;
use flowsvault_auth_service::{
    schema::{api_keys, sessions, sign_in_attempts, users},
    sign_in::{ProviderConfig, http::ProviderHttp, verify_id_token},
    testing::{Browser, query_value, register_provider, test_issuer},
};
use flowsvault_proto::{
    ErrorCode,
    auth::v1::{
        BeginSignInRequest, BeginSignInResponse, CompleteSignInRequest, CompleteSignInResponse,
        CreateSessionRequest, DeleteUserRequest, ListProvidersRequest, RevokeSessionRequest,
        SetUserPictureRequest, VerifySessionRequest,
    },
};
use openidconnect::{IssuerUrl, core::CoreProviderMetadata};
use sha2::{Digest, Sha256};
use tonic::Status;
use uuid::Uuid;

use super::{TestApp, spawn_app_with};

/// Never contacted: the browser stops when the provider redirects there.
const REDIRECT_URI: &str = "http://127.0.0.1:9/api/auth/callback/local";

async fn app_with_provider() -> TestApp {
    let provider = register_provider("local", &test_issuer().unwrap(), REDIRECT_URI)
        .await
        .unwrap();
    spawn_app_with(vec![provider]).await
}

impl TestApp {
    async fn begin(
        &self,
        provider: &str,
        callback_url: &str,
    ) -> Result<BeginSignInResponse, Status> {
        let request = BeginSignInRequest {
            provider: provider.to_owned(),
            redirect_uri: REDIRECT_URI.to_owned(),
            callback_url: callback_url.to_owned(),
        };
        Ok(self
            .client
            .clone()
            .begin_sign_in(request)
            .await?
            .into_inner())
    }

    async fn complete(&self, code: &str, state: &str) -> Result<CompleteSignInResponse, Status> {
        let request = CompleteSignInRequest {
            provider: "local".to_owned(),
            code: code.to_owned(),
            state: state.to_owned(),
        };
        Ok(self
            .client
            .clone()
            .complete_sign_in(request)
            .await?
            .into_inner())
    }

    async fn verify_session(&self, token: &str) -> Result<String, Status> {
        let request = VerifySessionRequest {
            token: token.to_owned(),
        };
        let verified = self
            .client
            .clone()
            .verify_session(request)
            .await?
            .into_inner();
        Ok(verified.user.unwrap().email)
    }

    async fn session_rows(&self) -> i64 {
        let mut connection = self.connection().await;
        sessions::table
            .count()
            .get_result(&mut connection)
            .await
            .unwrap()
    }
}

/// Plays the browser at the provider, signed in as `login`; returns the code and state
/// the provider sends back. `tamper` may change the authorization URL first.
async fn authorize(
    authorization_url: &str,
    login: &str,
    tamper: impl FnOnce(&mut url::Url),
) -> (String, String) {
    let mut url = url::Url::parse(authorization_url).unwrap();
    url.query_pairs_mut().append_pair("login_hint", login);
    tamper(&mut url);
    let back = Browser::new()
        .unwrap()
        .follow(url.as_str(), REDIRECT_URI)
        .await
        .unwrap();
    (
        query_value(&back, "code").expect("the provider sent a code"),
        query_value(&back, "state").expect("the provider sent the state back"),
    )
}

fn assert_sign_in_failed<T: std::fmt::Debug>(result: Result<T, Status>) {
    let status = result.expect_err("the sign-in must fail");
    assert_eq!(
        ErrorCode::of_status(&status),
        ErrorCode::SignInFailed,
        "{status:?}"
    );
}

#[tokio::test]
async fn a_full_sign_in_opens_a_session_that_sign_out_revokes() {
    let app = app_with_provider().await;
    let providers = app
        .client
        .clone()
        .list_providers(ListProvidersRequest {})
        .await
        .unwrap()
        .into_inner()
        .providers;
    assert_eq!(providers.len(), 1);
    assert_eq!(
        (providers[0].id.as_str(), providers[0].kind.as_str()),
        ("local", "oidc")
    );

    let begun = app.begin("local", "/files?page=2").await.unwrap();
    let authorization = url::Url::parse(&begun.authorization_url).unwrap();
    assert_eq!(
        query_value(&authorization, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_value(&authorization, "state"),
        Some(begun.state.clone())
    );
    assert!(query_value(&authorization, "nonce").is_some_and(|nonce| nonce.len() >= 32));
    assert!(begun.state.len() >= 32, "state carries at least 128 bits");

    let (code, state) = authorize(&begun.authorization_url, "carol", |_| {}).await;
    assert_eq!(state, begun.state);
    let signed_in = app.complete(&code, &state).await.unwrap();
    let user = signed_in.user.unwrap();
    assert_eq!(user.email, "carol@example.test");
    assert_eq!(user.name.as_deref(), Some("Carol"));
    assert_eq!(signed_in.callback_url, "/files?page=2");
    let session = signed_in.session.unwrap();
    assert_eq!(
        app.verify_session(&session.token).await.unwrap(),
        "carol@example.test"
    );

    // Only the token's SHA-256 is stored.
    let mut connection = app.connection().await;
    let stored: Vec<u8> = sessions::table
        .select(sessions::token_hash)
        .first(&mut connection)
        .await
        .unwrap();
    assert_eq!(stored, Sha256::digest(session.token.as_bytes()).to_vec());

    app.client
        .clone()
        .revoke_session(RevokeSessionRequest {
            token: session.token.clone(),
        })
        .await
        .unwrap();
    let refused = app.verify_session(&session.token).await.unwrap_err();
    assert_eq!(ErrorCode::of_status(&refused), ErrorCode::Unauthenticated);
}

#[tokio::test]
async fn signing_in_again_updates_the_same_user_with_a_new_session() {
    let app = app_with_provider().await;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let begun = app.begin("local", "/").await.unwrap();
        let (code, state) = authorize(&begun.authorization_url, "dave", |_| {}).await;
        let signed_in = app.complete(&code, &state).await.unwrap();
        ids.push(signed_in.user.unwrap().id);
        tokens.push(signed_in.session.unwrap().token);
    }
    assert_eq!(ids[0], ids[1], "one user per verified email");
    assert_ne!(tokens[0], tokens[1], "every sign-in gets a new token");
    // The same email from another path (an API-key bootstrap) is the same user too.
    let same = app.ensure_user("Dave@Example.test", None).await.unwrap();
    assert_eq!(same.id, ids[0]);
}

#[tokio::test]
async fn a_replayed_state_creates_no_second_session() {
    let app = app_with_provider().await;
    let begun = app.begin("local", "/").await.unwrap();
    let (code, state) = authorize(&begun.authorization_url, "erin", |_| {}).await;
    app.complete(&code, &state).await.unwrap();
    assert_sign_in_failed(app.complete(&code, &state).await);
    assert_eq!(app.session_rows().await, 1);
}

#[tokio::test]
async fn an_unknown_state_or_provider_is_refused_without_a_session() {
    let app = app_with_provider().await;
    let begun = app.begin("local", "/").await.unwrap();
    let (code, _) = authorize(&begun.authorization_url, "erin", |_| {}).await;
    assert_sign_in_failed(app.complete(&code, &"0".repeat(64)).await);
    assert_sign_in_failed(app.complete(&code, "").await);

    let request = CompleteSignInRequest {
        provider: "other".to_owned(),
        code,
        state: begun.state,
    };
    assert_sign_in_failed(app.client.clone().complete_sign_in(request).await);
    assert_eq!(app.session_rows().await, 0);

    let unknown = app.begin("nope", "/").await.unwrap_err();
    assert_eq!(ErrorCode::of_status(&unknown), ErrorCode::NotFound);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let app = app_with_provider().await;
    let begun = app.begin("local", "/").await.unwrap();
    let (code, state) = authorize(&begun.authorization_url, "frank", |url| {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "nonce" {
                    "forged-nonce".into()
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    })
    .await;
    assert_sign_in_failed(app.complete(&code, &state).await);
    assert_eq!(app.session_rows().await, 0);
    let mut connection = app.connection().await;
    let users: i64 = users::table
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert_eq!(users, 0, "no user is created either");
}

#[tokio::test]
async fn an_id_token_issued_to_another_client_is_refused() {
    let issuer = test_issuer().unwrap();
    let ours = register_provider("local", &issuer, REDIRECT_URI)
        .await
        .unwrap();
    let theirs = register_provider("local", &issuer, REDIRECT_URI)
        .await
        .unwrap();
    let http = ProviderHttp::new().unwrap();
    let issuer_url = IssuerUrl::new(issuer.as_str().trim_end_matches('/').to_owned()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer_url, &http)
        .await
        .unwrap();

    // A real ID token for the other client, obtained the way that client would.
    let (id_token, nonce) = id_token_for(&theirs, &metadata).await;
    assert!(verify_id_token(&theirs, metadata.clone(), &id_token, &nonce).is_ok());
    let refused = verify_id_token(&ours, metadata.clone(), &id_token, &nonce);
    assert!(
        refused.is_err(),
        "a token for another audience must not verify"
    );
    assert!(verify_id_token(&theirs, metadata, &id_token, "another nonce").is_err());
}

/// A code flow done by hand for `provider`'s client: its ID token and nonce.
async fn id_token_for(
    provider: &ProviderConfig,
    metadata: &CoreProviderMetadata,
) -> (String, String) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let nonce = Uuid::new_v4().to_string();
    let mut url = metadata.authorization_endpoint().url().clone();
    url.query_pairs_mut()
        .append_pair("client_id", &provider.client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("state", "s")
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let (code, _) = authorize(url.as_str(), "grace", |_| {}).await;
    let token_url = metadata.token_endpoint().unwrap().url().clone();
    let answer: serde_json::Value = reqwest::Client::new()
        .post(token_url)
        .basic_auth(&provider.client_id, provider.client_secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.secret().as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (answer["id_token"].as_str().unwrap().to_owned(), nonce)
}

#[tokio::test]
async fn an_expired_or_malformed_session_is_refused() {
    let app = spawn_app_with(Vec::new()).await;
    let user = app.ensure_user("hank@example.org", None).await.unwrap();
    let session = app
        .client
        .clone()
        .create_session(CreateSessionRequest {
            user_id: user.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let expires_at =
        flowsvault_proto::from_timestamp(session.expires_at.as_ref().unwrap()).unwrap();
    let days = (expires_at - chrono::Utc::now()).num_days();
    assert!(
        (29..=30).contains(&days),
        "sessions last 30 days, not {days}"
    );
    assert_eq!(
        app.verify_session(&session.token).await.unwrap(),
        "hank@example.org"
    );

    let mut connection = app.connection().await;
    diesel::update(sessions::table)
        .set(sessions::expires_at.eq(now))
        .execute(&mut connection)
        .await
        .unwrap();
    for token in [session.token.as_str(), "", "not-a-token", &"f".repeat(64)] {
        let refused = app.verify_session(token).await.unwrap_err();
        assert_eq!(
            ErrorCode::of_status(&refused),
            ErrorCode::Unauthenticated,
            "{token}"
        );
    }

    let unknown_user = app
        .client
        .clone()
        .create_session(CreateSessionRequest {
            user_id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of_status(&unknown_user), ErrorCode::NotFound);
}

#[tokio::test]
async fn deleting_a_user_removes_its_rows_and_names_what_lives_elsewhere() {
    let app = app_with_provider().await;
    let begun = app.begin("local", "/").await.unwrap();
    let (code, state) = authorize(&begun.authorization_url, "ivy", |_| {}).await;
    let user = app.complete(&code, &state).await.unwrap().user.unwrap();
    let key = app.create_api_key(&user.id, "laptop", None).await.unwrap();
    let pictured = app
        .client
        .clone()
        .set_user_picture(SetUserPictureRequest {
            user_id: user.id.clone(),
            picture_key: "avatar-1.png".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pictured.replaced_key, None);
    let replaced = app
        .client
        .clone()
        .set_user_picture(SetUserPictureRequest {
            user_id: user.id.clone(),
            picture_key: "avatar-2.png".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.replaced_key.as_deref(), Some("avatar-1.png"));
    // An unfinished sign-in of this browser, too.
    app.begin("local", "/").await.unwrap();

    let deleted = app
        .client
        .clone()
        .delete_user(DeleteUserRequest {
            user_id: user.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.api_key_ids, [key.api_key.unwrap().id]);
    assert_eq!(deleted.picture_key.as_deref(), Some("avatar-2.png"));

    let mut connection = app.connection().await;
    let user_id = Uuid::parse_str(&user.id).unwrap();
    let count = |table: &str, n: i64| assert_eq!(n, 0, "rows left in {table}");
    count(
        "users",
        users::table
            .filter(users::id.eq(user_id))
            .count()
            .get_result(&mut connection)
            .await
            .unwrap(),
    );
    count(
        "sessions",
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .count()
            .get_result(&mut connection)
            .await
            .unwrap(),
    );
    count(
        "api_keys",
        api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .count()
            .get_result(&mut connection)
            .await
            .unwrap(),
    );
    let attempts: i64 = sign_in_attempts::table
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        attempts, 1,
        "attempts belong to browsers, not users; they expire in minutes"
    );

    // Again: nothing left to delete, and no error.
    let again = app
        .client
        .clone()
        .delete_user(DeleteUserRequest { user_id: user.id })
        .await
        .unwrap()
        .into_inner();
    assert!(again.api_key_ids.is_empty() && again.picture_key.is_none());
}
