//! The gRPC adapter: proto messages in, domain types and account calls, proto messages out.

use chrono::Utc;
use flowsvault_proto::{
    auth::v1::{
        ApiKey as ApiKeyMessage, CreateApiKeyRequest, CreateApiKeyResponse, EnsureUserRequest,
        ListApiKeysRequest, ListApiKeysResponse, RevokeApiKeyRequest, User as UserMessage,
        VerifyApiKeyRequest, VerifyApiKeyResponse, auth_service_server::AuthService,
    },
    from_timestamp, to_timestamp,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    accounts::Accounts,
    domain::{ApiKeyName, Email, KeyExpiry, UserName},
    error::AuthError,
    repository::{StoredApiKey, User},
};

#[derive(Clone, Debug)]
pub struct AuthApi {
    accounts: Accounts,
}

impl AuthApi {
    pub fn new(accounts: Accounts) -> Self {
        Self { accounts }
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    #[tracing::instrument(skip_all, fields(key_id, user_id))]
    async fn verify_api_key(
        &self,
        request: Request<VerifyApiKeyRequest>,
    ) -> Result<Response<VerifyApiKeyResponse>, Status> {
        let presented = request.into_inner().key;
        let verified = self.accounts.verify_api_key(&presented).await?;
        let span = tracing::Span::current();
        span.record("key_id", tracing::field::display(verified.key_id));
        span.record("user_id", tracing::field::display(verified.user_id));
        Ok(Response::new(VerifyApiKeyResponse {
            user_id: verified.user_id.to_string(),
            key_id: verified.key_id.to_string(),
            expires_at: verified.expires_at.map(to_timestamp),
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id))]
    async fn ensure_user(
        &self,
        request: Request<EnsureUserRequest>,
    ) -> Result<Response<UserMessage>, Status> {
        let request = request.into_inner();
        let email = Email::parse(&request.email)?;
        let name = UserName::parse_optional(request.name.as_deref())?;
        let user = self.accounts.ensure_user(&email, name.as_ref()).await?;
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        Ok(Response::new(user_message(user)))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<CreateApiKeyResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_user_id(&request.user_id)?;
        let name = ApiKeyName::parse(&request.name)?;
        let expires_at = request
            .expires_at
            .map(|timestamp| {
                let at = from_timestamp(&timestamp)
                    .ok_or(AuthError::InvalidRequest("expires_at is out of range"))?;
                KeyExpiry::parse(at, Utc::now())
            })
            .transpose()?;
        let issued = self
            .accounts
            .create_api_key(user_id, &name, expires_at)
            .await?;
        Ok(Response::new(CreateApiKeyResponse {
            api_key: Some(api_key_message(issued.record)),
            key: issued.key.expose().to_owned(),
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let user_id = parse_user_id(&request.get_ref().user_id)?;
        let keys = self.accounts.list_api_keys(user_id).await?;
        Ok(Response::new(ListApiKeysResponse {
            api_keys: keys.into_iter().map(api_key_message).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn revoke_api_key(
        &self,
        request: Request<RevokeApiKeyRequest>,
    ) -> Result<Response<ApiKeyMessage>, Status> {
        let request = request.into_inner();
        let user_id = parse_user_id(&request.user_id)?;
        // A malformed id is a key nobody has: the same answer as another user's key.
        let key_id = Uuid::parse_str(&request.id).map_err(|_| AuthError::ApiKeyNotFound)?;
        let revoked = self.accounts.revoke_api_key(user_id, key_id).await?;
        Ok(Response::new(api_key_message(revoked)))
    }
}

fn parse_user_id(raw: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(raw).map_err(|_| AuthError::InvalidRequest("user_id is not a uuid"))
}

fn user_message(user: User) -> UserMessage {
    UserMessage {
        id: user.id.to_string(),
        email: user.email,
        name: user.name,
        image: user.image,
        created_at: Some(to_timestamp(user.created_at)),
    }
}

fn api_key_message(key: StoredApiKey) -> ApiKeyMessage {
    ApiKeyMessage {
        id: key.id.to_string(),
        name: key.name,
        prefix: key.prefix,
        created_at: Some(to_timestamp(key.created_at)),
        last_used_at: key.last_used_at.map(to_timestamp),
        expires_at: key.expires_at.map(to_timestamp),
        revoked_at: key.revoked_at.map(to_timestamp),
    }
}
