#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! Signing in with GitHub, against a GitHub of our own on 127.0.0.1 that keeps GitHub's
//! rules for OAuth apps: the code is used once, for the same redirect URI, with the PKCE
//! verifier of the challenge, by the client with its secret; the API answers only with
//! the access token it gave. GitHub itself cannot be reached from the tests.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use flowsvault_auth_service::sign_in::{ProviderConfig, ProviderKind};
use reqwest::{StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, session_token, spawn_app_with_providers};

const CLIENT_ID: &str = "Iv1.flowsvault-test";
const CLIENT_SECRET: &str = "github-test-secret";

#[derive(Clone)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

#[derive(Clone)]
struct Account {
    login: String,
    name: Option<String>,
    emails: Vec<Email>,
}

struct Grant {
    challenge: String,
    redirect_uri: String,
    account: Account,
}

#[derive(Default)]
struct GitHubState {
    /// Who signs in at the next authorization.
    next: Mutex<Option<Account>>,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, Account>>,
    /// Why the last refused token request was refused.
    refusals: Mutex<Vec<String>>,
}

struct FakeGitHub {
    base: String,
    state: Arc<GitHubState>,
}

impl FakeGitHub {
    async fn start() -> Self {
        let state = Arc::new(GitHubState::default());
        let data = web::Data::from(state.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route("/login/oauth/authorize", web::get().to(authorize))
                .route("/login/oauth/access_token", web::post().to(access_token))
                .route("/api/user", web::get().to(user))
                .route("/api/user/emails", web::get().to(emails))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            base: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    fn provider(&self) -> ProviderConfig {
        let url = |path: &str| url::Url::parse(&format!("{}{path}", self.base)).unwrap();
        ProviderConfig {
            id: "github".into(),
            name: "GitHub".into(),
            kind: ProviderKind::GitHub {
                authorize_url: url("/login/oauth/authorize"),
                token_url: url("/login/oauth/access_token"),
                api_url: url("/api"),
            },
            client_id: CLIENT_ID.into(),
            client_secret: Some(CLIENT_SECRET.into()),
            scopes: vec!["read:user".into(), "user:email".into()],
        }
    }

    fn signs_in_next(&self, account: Account) {
        *self.state.next.lock().unwrap() = Some(account);
    }

    fn refusals(&self) -> Vec<String> {
        self.state.refusals.lock().unwrap().clone()
    }
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

async fn authorize(
    github: web::Data<GitHubState>,
    query: web::Query<AuthorizeQuery>,
) -> HttpResponse {
    let query = query.into_inner();
    if query.client_id != CLIENT_ID
        || query.code_challenge_method != "S256"
        || !query.scope.split(' ').any(|scope| scope == "user:email")
    {
        return HttpResponse::BadRequest().body("bad authorization request");
    }
    let Some(account) = github.next.lock().unwrap().clone() else {
        return HttpResponse::BadRequest().body("nobody is signed in at GitHub");
    };
    let code = uuid::Uuid::new_v4().simple().to_string();
    github.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            challenge: query.code_challenge,
            redirect_uri: query.redirect_uri.clone(),
            account,
        },
    );
    let mut back = url::Url::parse(&query.redirect_uri).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &query.state);
    HttpResponse::Found()
        .insert_header(("Location", back.to_string()))
        .finish()
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: String,
    client_secret: Option<String>,
    code: String,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// GitHub answers a refused exchange with 200 and an `error` field.
async fn access_token(
    github: web::Data<GitHubState>,
    request: HttpRequest,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let grant = github.codes.lock().unwrap().remove(&form.code);
    let refusal =
        match &grant {
            _ if request
                .headers()
                .get("accept")
                .is_none_or(|accept| accept != "application/json") =>
            {
                Some("the answer was not asked for as JSON")
            }
            _ if form.client_id != CLIENT_ID
                || form.client_secret.as_deref() != Some(CLIENT_SECRET) =>
            {
                Some("incorrect_client_credentials")
            }
            None => Some("bad_verification_code"),
            Some(grant) if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) => {
                Some("redirect_uri_mismatch")
            }
            Some(grant)
                if form.code_verifier.as_deref().map(|verifier| {
                    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
                }) != Some(grant.challenge.clone()) =>
            {
                Some("the code_verifier does not match the code_challenge")
            }
            Some(_) => None,
        };
    if let Some(refusal) = refusal {
        github.refusals.lock().unwrap().push(refusal.to_owned());
        return HttpResponse::Ok().json(json!({ "error": "bad_verification_code" }));
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    github
        .tokens
        .lock()
        .unwrap()
        .insert(token.clone(), grant.unwrap().account);
    HttpResponse::Ok().json(json!({
        "access_token": token,
        "token_type": "bearer",
        "scope": "read:user,user:email",
    }))
}

fn account_of(github: &GitHubState, request: &HttpRequest) -> Option<Account> {
    let token = request
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    github.tokens.lock().unwrap().get(token).cloned()
}

async fn user(github: web::Data<GitHubState>, request: HttpRequest) -> HttpResponse {
    match account_of(&github, &request) {
        Some(account) => HttpResponse::Ok().json(json!({
            "login": account.login,
            "id": 1,
            "name": account.name,
            "avatar_url": format!("https://avatars.example/{}", account.login),
        })),
        None => HttpResponse::Unauthorized().json(json!({ "message": "Bad credentials" })),
    }
}

async fn emails(github: web::Data<GitHubState>, request: HttpRequest) -> HttpResponse {
    match account_of(&github, &request) {
        Some(account) => HttpResponse::Ok().json(
            account
                .emails
                .iter()
                .map(|email| {
                    json!({
                        "email": email.email,
                        "primary": email.primary,
                        "verified": email.verified,
                        "visibility": null,
                    })
                })
                .collect::<Vec<_>>(),
        ),
        None => HttpResponse::Unauthorized().json(json!({ "message": "Bad credentials" })),
    }
}

fn account(primary_verified: bool) -> Account {
    let login = format!("octo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    Account {
        emails: vec![
            Email {
                email: format!("{login}@old.example.com"),
                primary: false,
                verified: true,
            },
            Email {
                email: format!("{login}@example.com"),
                primary: true,
                verified: primary_verified,
            },
        ],
        login,
        name: None,
    }
}

/// Follows the sign-in from `/api/auth/signin/github` through GitHub and back; returns
/// where our callback sends the browser, and the browser's cookie jar.
async fn sign_in_with_github(app: &TestApp) -> (String, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let mut next = app.url("/api/auth/signin/github?callbackUrl=/files");
    for _ in 0..5 {
        let response = browser.get(&next).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{next}");
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        if location.starts_with('/') {
            return (location.to_owned(), jar);
        }
        next = location.to_owned();
    }
    panic!("the sign-in never came back to our site");
}

async fn session(app: &TestApp, jar: &reqwest::cookie::Jar) -> reqwest::Response {
    let token = session_token(jar, &app.address);
    let mut request = app.client.get(app.url("/api/auth/session"));
    if let Some(token) = token {
        request = request.header(header::COOKIE, format!("fv_session={token}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn github_sign_in_opens_a_session_for_the_verified_primary_email() {
    let github = FakeGitHub::start().await;
    let app = spawn_app_with_providers(vec![github.provider()]).await;

    let providers: Value = app
        .client
        .get(app.url("/api/auth/providers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        providers
            .as_array()
            .unwrap()
            .contains(&json!({ "id": "github", "name": "GitHub", "kind": "github" })),
        "{providers}"
    );

    let octocat = account(true);
    // The same person already has an account through an API key made for that email.
    let email = format!("{}@example.com", octocat.login);
    let key = app.api_key(&email).await;
    let known: Value = app.get(&key, "/api/profile").await.json().await.unwrap();

    github.signs_in_next(octocat.clone());
    let (landing, jar) = sign_in_with_github(&app).await;
    assert_eq!(landing, "/files");
    assert_eq!(github.refusals(), Vec::<String>::new());
    let response = session(&app, &jar).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user"]["email"], email.as_str());
    assert_eq!(
        session["user"]["id"], known["id"],
        "one user per verified email"
    );
    assert_eq!(session["user"]["name"], octocat.login.as_str());
    assert_eq!(
        session["user"]["image"],
        format!("https://avatars.example/{}", octocat.login).as_str()
    );
}

#[tokio::test]
async fn a_github_account_without_a_verified_primary_email_gets_no_session() {
    let github = FakeGitHub::start().await;
    let app = spawn_app_with_providers(vec![github.provider()]).await;
    github.signs_in_next(account(false));
    let (landing, jar) = sign_in_with_github(&app).await;
    assert!(landing.starts_with("/signin?error="), "{landing}");
    assert_eq!(session_token(&jar, &app.address), None);
    assert_eq!(session(&app, &jar).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_github_refuses_creates_no_session() {
    let github = FakeGitHub::start().await;
    let mut provider = github.provider();
    provider.client_secret = Some("not-the-secret".into());
    let app = spawn_app_with_providers(vec![provider]).await;
    github.signs_in_next(account(true));
    let (landing, jar) = sign_in_with_github(&app).await;
    assert!(landing.starts_with("/signin?error="), "{landing}");
    assert_eq!(github.refusals(), vec!["incorrect_client_credentials"]);
    assert_eq!(session_token(&jar, &app.address), None);
}
