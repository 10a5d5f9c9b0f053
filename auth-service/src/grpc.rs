//! The gRPC adapter: proto messages in, domain types and account calls, proto messages out.

use chrono::Utc;
use flowsvault_proto::{
    auth::v1::{
        ApiKey as ApiKeyMessage, BeginSignInRequest, BeginSignInResponse, CompleteSignInRequest,
        CompleteSignInResponse, CreateApiKeyRequest, CreateApiKeyResponse, CreateSessionRequest,
        DeleteUserRequest, DeleteUserResponse, EnsureUserRequest, GetUserRequest,
        ListApiKeysRequest, ListApiKeysResponse, ListProvidersRequest, ListProvidersResponse,
        Provider, RevokeApiKeyRequest, RevokeSessionRequest, RevokeSessionResponse,
        Session as SessionMessage, SetUserPictureRequest, SetUserPictureResponse,
        User as UserMessage, VerifyApiKeyRequest, VerifyApiKeyResponse, VerifySessionRequest,
        VerifySessionResponse, auth_service_server::AuthService,
    },
    from_timestamp, to_timestamp,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    accounts::{Accounts, OpenedSession},
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

    async fn list_providers(
        &self,
        _: Request<ListProvidersRequest>,
    ) -> Result<Response<ListProvidersResponse>, Status> {
        let providers = self
            .accounts
            .providers()
            .configs()
            .map(|config| Provider {
                id: config.id.clone(),
                name: config.name.clone(),
                kind: config.kind.as_str().to_owned(),
            })
            .collect();
        Ok(Response::new(ListProvidersResponse { providers }))
    }

    #[tracing::instrument(skip_all, fields(provider = %request.get_ref().provider))]
    async fn begin_sign_in(
        &self,
        request: Request<BeginSignInRequest>,
    ) -> Result<Response<BeginSignInResponse>, Status> {
        let request = request.into_inner();
        let (authorization_url, state) = self
            .accounts
            .begin_sign_in(
                &request.provider,
                &request.redirect_uri,
                &request.callback_url,
            )
            .await?;
        Ok(Response::new(BeginSignInResponse {
            authorization_url,
            state,
        }))
    }

    #[tracing::instrument(skip_all, fields(provider = %request.get_ref().provider))]
    async fn complete_sign_in(
        &self,
        request: Request<CompleteSignInRequest>,
    ) -> Result<Response<CompleteSignInResponse>, Status> {
        let request = request.into_inner();
        let signed_in = self
            .accounts
            .complete_sign_in(&request.provider, &request.code, &request.state)
            .await
            .inspect_err(|error| tracing::info!(%error, "sign-in refused"))?;
        Ok(Response::new(CompleteSignInResponse {
            session: Some(session_message(signed_in.session)),
            user: Some(user_message(signed_in.user)),
            callback_url: signed_in.callback_url,
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn create_session(
        &self,
        request: Request<CreateSessionRequest>,
    ) -> Result<Response<SessionMessage>, Status> {
        let user_id = parse_user_id(&request.get_ref().user_id)?;
        let session = self.accounts.open_session(user_id).await?;
        Ok(Response::new(session_message(session)))
    }

    async fn verify_session(
        &self,
        request: Request<VerifySessionRequest>,
    ) -> Result<Response<VerifySessionResponse>, Status> {
        let (user, expires_at) = self
            .accounts
            .verify_session(&request.get_ref().token)
            .await?;
        Ok(Response::new(VerifySessionResponse {
            user: Some(user_message(user)),
            expires_at: Some(to_timestamp(expires_at)),
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<RevokeSessionRequest>,
    ) -> Result<Response<RevokeSessionResponse>, Status> {
        self.accounts
            .revoke_session(&request.get_ref().token)
            .await?;
        Ok(Response::new(RevokeSessionResponse {}))
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<UserMessage>, Status> {
        let user_id = parse_user_id(&request.get_ref().user_id)?;
        let user = self.accounts.user(user_id).await?;
        Ok(Response::new(user_message(user)))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn set_user_picture(
        &self,
        request: Request<SetUserPictureRequest>,
    ) -> Result<Response<SetUserPictureResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_user_id(&request.user_id)?;
        let key = request.picture_key.trim();
        if key.is_empty() || key.len() > 1024 {
            return Err(AuthError::InvalidRequest("picture_key must be 1 to 1024 bytes").into());
        }
        let (user, replaced_key) = self.accounts.set_picture(user_id, key).await?;
        Ok(Response::new(SetUserPictureResponse {
            user: Some(user_message(user)),
            replaced_key,
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<DeleteUserResponse>, Status> {
        let user_id = parse_user_id(&request.get_ref().user_id)?;
        let deleted = self.accounts.delete_user(user_id).await?;
        Ok(Response::new(DeleteUserResponse {
            api_key_ids: deleted.api_key_ids.iter().map(Uuid::to_string).collect(),
            picture_key: deleted.picture_key,
        }))
    }
}

fn session_message(session: OpenedSession) -> SessionMessage {
    SessionMessage {
        token: session.token.expose().to_owned(),
        expires_at: Some(to_timestamp(session.expires_at)),
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
        picture_key: user.picture_key,
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
