//! The caller's profile (API.md "Profile and account"): who they are, their own picture
//! (stored through storage-service), and deleting the whole account across services.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, body::SizedStream, http::header, web};
use bytes::{Bytes, BytesMut};
use flowsvault_proto::{
    ErrorCode,
    auth::v1::{DeleteUserRequest, GetUserRequest, SetUserPictureRequest, User},
    files::v1::{ForgetFilesRequest, ListUserObjectsRequest},
    storage::v1::{DeleteRequest, GetRequest, PutFinish, PutHeader, PutRequest, put_request},
};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{
    download::USER_CONTENT_POLICY,
    no_content,
    openapi::{
        BadGateway, BadRequest, Forbidden, GatewayTimeout, NotFound, PayloadTooLarge,
        ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType,
    },
};
use crate::{auth::Principal, problem::ApiError, request_id::RequestId, startup::AppState};

/// Largest profile picture accepted.
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;
/// Files removed per round of account deletion, and storage deletions at once.
const DELETION_BATCH: u32 = 200;
const PARALLEL_DELETIONS: usize = 8;

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    #[schema(format = "uuid")]
    id: String,
    email: String,
    name: Option<String>,
    /// The uploaded picture (`/api/profile/picture?v=…`), else the identity provider's.
    image: Option<String>,
}

pub fn user_view(user: User) -> UserView {
    let image = match &user.picture_key {
        Some(key) => {
            let version = hex::encode(&Sha256::digest(key.as_bytes())[..6]);
            Some(format!("/api/profile/picture?v={version}"))
        }
        None => user.image,
    };
    UserView {
        id: user.id,
        email: user.email,
        name: user.name,
        image,
    }
}

async fn load_user(
    state: &AppState,
    principal: &Principal,
    request_id: &RequestId,
) -> Result<User, ApiError> {
    let mut auth = state.backends.auth();
    let user = auth
        .get_user(state.backends.request(
            GetUserRequest {
                user_id: principal.user_id.clone(),
            },
            request_id,
        ))
        .await
        // A session or cached key that outlived its user is no credential.
        .map_err(|status| match ErrorCode::of_status(&status) {
            ErrorCode::NotFound => ApiError::unauthenticated(),
            _ => ApiError::from(status),
        })?;
    Ok(user.into_inner())
}

/// The caller.
#[utoipa::path(
    get,
    path = "/api/profile",
    tag = "profile",
    operation_id = "getProfile",
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let user = load_user(&state, &principal, &request_id).await?;
    Ok(HttpResponse::Ok().json(user_view(user)))
}

/// The picture form, as the OpenAPI document describes it.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "only describes the multipart body for the OpenAPI document"
)]
struct PictureForm {
    /// A PNG, JPEG or WebP image of at most 2 MiB; its content decides its type.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Sets the caller's picture. The content must be a PNG, JPEG or WebP image (checked on
/// the bytes, not the name); the previous picture is removed.
#[utoipa::path(
    post,
    path = "/api/profile/picture",
    tag = "profile",
    operation_id = "setProfilePicture",
    security(("apiKey" = []), ("session" = [])),
    request_body(content = PictureForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The caller with the new `image`", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn set_picture(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bytes = read_picture(&request, payload).await?;
    let (mime_type, extension) = match infer::get(&bytes).map(|kind| kind.mime_type()) {
        Some("image/png") => ("image/png", "png"),
        Some("image/jpeg") => ("image/jpeg", "jpg"),
        Some("image/webp") => ("image/webp", "webp"),
        _ => {
            return Err(ApiError::new(
                ErrorCode::ContentMismatch,
                "the picture must be a PNG, JPEG or WebP image",
            ));
        }
    };
    let key = format!(
        "avatar-{}-{}.{extension}",
        principal.user_id,
        uuid::Uuid::new_v4()
    );
    put_object(&state, &request_id, &key, mime_type, bytes).await?;
    let mut auth = state.backends.auth();
    let recorded = auth
        .set_user_picture(state.backends.request(
            SetUserPictureRequest {
                user_id: principal.user_id.clone(),
                picture_key: key.clone(),
            },
            &request_id,
        ))
        .await;
    let recorded = match recorded {
        Ok(recorded) => recorded.into_inner(),
        Err(status) => {
            delete_object(&state, &request_id, &key).await.ok();
            return Err(status.into());
        }
    };
    if let Some(replaced) = recorded.replaced_key
        && let Err(error) = delete_object(&state, &request_id, &replaced).await
    {
        tracing::warn!(key = %replaced, ?error, "removing the replaced picture failed");
    }
    let user = recorded
        .user
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "auth-service sent no user"))?;
    Ok(HttpResponse::Ok().json(user_view(user)))
}

/// The `file` part of a multipart body, at most `MAX_PICTURE_BYTES`.
async fn read_picture(request: &HttpRequest, payload: web::Payload) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::FileTooLarge,
            format!("the picture is larger than {MAX_PICTURE_BYTES} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_PICTURE_BYTES + 16 * 1024) {
        return Err(too_large());
    }
    super::upload::require_multipart(request)?;
    let malformed = |error: actix_multipart::MultipartError| {
        ApiError::invalid(format!("the multipart body is malformed: {error}"))
    };
    let mut multipart = Multipart::new(request.headers(), payload);
    while let Some(mut field) = multipart.try_next().await.map_err(malformed)? {
        if field.name() != Some("file") {
            // Other parts are read and dropped, within the same limit.
            let mut skipped = 0;
            while let Some(chunk) = field.try_next().await.map_err(malformed)? {
                skipped += chunk.len();
                if skipped > MAX_PICTURE_BYTES {
                    return Err(too_large());
                }
            }
            continue;
        }
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.try_next().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > MAX_PICTURE_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(ApiError::new(
                ErrorCode::MissingFile,
                "the picture is empty",
            ));
        }
        return Ok(bytes.freeze());
    }
    Err(ApiError::new(
        ErrorCode::MissingFile,
        "the body has no `file` part",
    ))
}

/// Stores a small object in one go.
async fn put_object(
    state: &AppState,
    request_id: &RequestId,
    key: &str,
    content_type: &str,
    bytes: Bytes,
) -> Result<(), ApiError> {
    let size = bytes.len() as u64;
    let messages = [
        put_request::Message::Header(PutHeader {
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            metadata: Default::default(),
        }),
        put_request::Message::Chunk(bytes),
        put_request::Message::Finish(PutFinish { size }),
    ]
    .map(|message| PutRequest {
        message: Some(message),
    });
    let mut storage = state.backends.storage();
    let stored = storage
        .put(state.backends.request(stream::iter(messages), request_id))
        .await?
        .into_inner();
    if stored.size != size {
        return Err(ApiError::new(
            ErrorCode::UpstreamFailed,
            "storage stored a different number of bytes",
        ));
    }
    Ok(())
}

async fn delete_object(
    state: &AppState,
    request_id: &RequestId,
    key: &str,
) -> Result<(), ApiError> {
    let mut storage = state.backends.storage();
    storage
        .delete(state.backends.request(
            DeleteRequest {
                key: key.to_owned(),
            },
            request_id,
        ))
        .await?;
    Ok(())
}

/// The caller's uploaded picture.
#[utoipa::path(
    get,
    path = "/api/profile/picture",
    tag = "profile",
    operation_id = "getProfilePicture",
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/*"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn picture(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let user = load_user(&state, &principal, &request_id).await?;
    let key = user.picture_key.ok_or_else(ApiError::not_found)?;
    let mime_type = match key.rsplit_once('.').map(|(_, extension)| extension) {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    };
    let mut storage = state.backends.storage();
    let object = storage
        .head(state.backends.request(
            flowsvault_proto::storage::v1::HeadRequest { key: key.clone() },
            &request_id,
        ))
        .await?
        .into_inner();
    let chunks = storage
        .get(
            state
                .backends
                .stream_request(GetRequest { key, range: None }, &request_id),
        )
        .await?
        .into_inner();
    let body = chunks.map(|message| {
        message
            .map(|message| message.chunk)
            .map_err(|_| actix_web::error::ErrorBadGateway("storage stream failed"))
    });
    Ok(HttpResponse::Ok()
        .content_type(mime_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, USER_CONTENT_POLICY))
        // The URL changes with the picture, so it may be kept.
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .body(SizedStream::new(object.size, body)))
}

/// Deletes the caller's account: every stored object and file record, the picture, then
/// the user with its sessions and keys. Each step can be repeated, so a deletion that
/// was interrupted finishes when it is asked for again.
#[utoipa::path(
    delete,
    path = "/api/profile/delete",
    tag = "profile",
    operation_id = "deleteAccount",
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "The account and everything in it are gone"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn delete_account(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let user_id = principal.user_id.clone();
    let mut files = state.backends.files();
    // Objects first, records after: a record is never forgotten while its object exists.
    loop {
        let objects = files
            .list_user_objects(state.backends.request(
                ListUserObjectsRequest {
                    user_id: user_id.clone(),
                    limit: DELETION_BATCH,
                },
                &request_id,
            ))
            .await?
            .into_inner()
            .objects;
        if objects.is_empty() {
            break;
        }
        stream::iter(&objects)
            .map(|object| delete_object(&state, &request_id, &object.key))
            .buffer_unordered(PARALLEL_DELETIONS)
            .try_collect::<Vec<()>>()
            .await?;
        files
            .forget_files(state.backends.request(
                ForgetFilesRequest {
                    user_id: user_id.clone(),
                    ids: objects.into_iter().map(|object| object.id).collect(),
                },
                &request_id,
            ))
            .await?;
    }
    let user = load_user(&state, &principal, &request_id).await?;
    if let Some(key) = &user.picture_key {
        delete_object(&state, &request_id, key).await?;
    }
    let mut auth = state.backends.auth();
    let deleted = auth
        .delete_user(state.backends.request(
            DeleteUserRequest {
                user_id: user_id.clone(),
            },
            &request_id,
        ))
        .await?
        .into_inner();
    for key_id in &deleted.api_key_ids {
        state.keys.forget_key(key_id);
    }
    // A picture set while the deletion ran.
    if let Some(key) = deleted
        .picture_key
        .filter(|key| Some(key) != user.picture_key.as_ref())
        && let Err(error) = delete_object(&state, &request_id, &key).await
    {
        tracing::warn!(%key, ?error, "removing the last picture failed");
    }
    tracing::info!(%user_id, "account deleted");
    let mut response = no_content();
    let site = &state.site;
    response
        .add_cookie(&site.removal(site.session_cookie_name()))
        .map_err(|_| ApiError::new(ErrorCode::Internal, "clearing the cookie failed"))?;
    Ok(response)
}
