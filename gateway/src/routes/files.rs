//! Listing, reading and deleting file metadata.

use actix_web::{HttpResponse, web};
use chrono::SecondsFormat;
use flowsvault_proto::{
    ErrorCode, FileDuration,
    files::v1::{
        DeleteFileRequest, DeleteFilesRequest, File, FileStatus, GetFileRequest, ListFilesRequest,
        MarkPurgedRequest, SortField, SortOrder, StatusFilter,
    },
    from_timestamp,
    storage::v1::DeleteRequest,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{
    IntoParams, ToSchema,
    openapi::schema::{Object, ObjectBuilder, Type},
};

use super::openapi::{
    BadGateway, BadRequest, Forbidden, GatewayTimeout, Gone, NotFound, ServiceUnavailable,
    TooManyRequests, Unauthorized,
};
use crate::{auth::Principal, problem::ApiError, request_id::RequestId, startup::AppState};

/// A stored file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = File)]
pub struct FileView {
    #[schema(format = "uuid")]
    pub id: String,
    /// The sanitized name the file was uploaded under.
    #[schema(example = "report.pdf")]
    pub original_name: String,
    /// The storage name, `{uuid}-{sanitized-name}.{ext}`.
    pub file_name: String,
    /// Bytes.
    pub size: u64,
    #[schema(example = "application/pdf")]
    pub mime_type: String,
    #[schema(example = "pdf")]
    pub extension: String,
    /// Hex SHA-256 of the content; also the download's `ETag`.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    #[schema(format = DateTime)]
    pub uploaded_at: String,
    /// `null` for files that never expire.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(schema_with = duration_schema)]
    pub duration: String,
    #[schema(example = "/api/download/0190f3b4-8a5e-7c61-9d2a-4b1e5f6a7c8d")]
    pub download_url: String,
    #[schema(schema_with = file_status_schema)]
    pub status: String,
}

/// How long a file is kept: one of the durations of the shared table.
pub(super) fn duration_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            FileDuration::ALL.iter().map(|duration| duration.as_str()),
        ))
        .description(Some("How long the file is kept"))
        .build()
}

fn file_status_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(FILE_STATUSES.iter().copied()))
        .build()
}

/// Every `status` a [`FileView`] can have.
const FILE_STATUSES: [&str; 6] = [
    "active", "expired", "pending", "failed", "deleted", "unknown",
];

impl FileView {
    pub fn from_proto(file: File) -> Self {
        let rfc3339 = |timestamp: &prost_types::Timestamp| {
            from_timestamp(timestamp)
                .map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        let status = match FileStatus::try_from(file.status) {
            Ok(FileStatus::Expired) => "expired",
            Ok(FileStatus::Active) => "active",
            Ok(FileStatus::Pending) => "pending",
            Ok(FileStatus::Failed) => "failed",
            Ok(FileStatus::Deleted | FileStatus::Purged) => "deleted",
            Ok(FileStatus::Unspecified) | Err(_) => "unknown",
        };
        Self {
            download_url: format!("/api/download/{}", file.id),
            uploaded_at: file.uploaded_at.as_ref().map(rfc3339).unwrap_or_default(),
            expires_at: file.expires_at.as_ref().map(rfc3339),
            duration: FileDuration::from_proto(file.duration)
                .map_or("unlimited", FileDuration::as_str)
                .to_owned(),
            status: status.to_owned(),
            id: file.id,
            original_name: file.original_name,
            file_name: file.file_name,
            size: file.size,
            mime_type: file.mime_type,
            extension: file.extension,
            sha256: file.sha256,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
    /// Case-insensitive substring of the name.
    #[param(max_length = 200)]
    q: Option<String>,
    #[param(inline, default = "active")]
    status: Option<StatusParam>,
    #[param(inline, default = "uploadedAt")]
    sort: Option<SortParam>,
    #[param(inline, default = "desc")]
    order: Option<OrderParam>,
}

/// Which files to list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum StatusParam {
    Active,
    Expired,
    All,
}

/// What to sort by.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
enum SortParam {
    UploadedAt,
    Name,
    Size,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum OrderParam {
    Asc,
    Desc,
}

const MAX_PER_PAGE: u32 = 100;
const DEFAULT_PER_PAGE: u32 = 20;

/// One page of the caller's files.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FilePage)]
struct Page {
    items: Vec<FileView>,
    page: u32,
    per_page: u32,
    total: u64,
}

#[utoipa::path(
    get,
    path = "/api/files",
    tag = "files",
    operation_id = "listFiles",
    params(ListParams),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of the caller's files", body = Page),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let page = params.page.unwrap_or(1);
    let per_page = params.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 {
        return Err(ApiError::invalid("page starts at 1"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::invalid(format!(
            "perPage must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    let request = ListFilesRequest {
        user_id: principal.user_id,
        page,
        per_page,
        query: params.q,
        status: match params.status.unwrap_or(StatusParam::Active) {
            StatusParam::Active => StatusFilter::Active,
            StatusParam::Expired => StatusFilter::Expired,
            StatusParam::All => StatusFilter::All,
        } as i32,
        sort: match params.sort.unwrap_or(SortParam::UploadedAt) {
            SortParam::UploadedAt => SortField::UploadedAt,
            SortParam::Name => SortField::Name,
            SortParam::Size => SortField::Size,
        } as i32,
        order: match params.order.unwrap_or(OrderParam::Desc) {
            OrderParam::Asc => SortOrder::Asc,
            OrderParam::Desc => SortOrder::Desc,
        } as i32,
    };
    let mut files = state.backends.files();
    let listed = files
        .list_files(state.backends.request(request, &request_id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(Page {
        items: listed.items.into_iter().map(FileView::from_proto).collect(),
        page,
        per_page,
        total: listed.total,
    }))
}

/// The caller's active file; expired files answer 410, everything else 404.
pub async fn active_file(
    state: &AppState,
    principal: &Principal,
    request_id: &RequestId,
    id: String,
) -> Result<File, ApiError> {
    let mut files = state.backends.files();
    let file = files
        .get_file(state.backends.request(
            GetFileRequest {
                user_id: principal.user_id.clone(),
                id,
            },
            request_id,
        ))
        .await?
        .into_inner();
    match FileStatus::try_from(file.status) {
        Ok(FileStatus::Active) => Ok(file),
        Ok(FileStatus::Expired) => Err(ApiError::new(
            ErrorCode::FileExpired,
            "the file has expired",
        )),
        _ => Err(ApiError::not_found()),
    }
}

#[utoipa::path(
    get,
    path = "/api/files/{id}",
    tag = "files",
    operation_id = "getFile",
    params(("id" = String, Path, format = "uuid", description = "The file's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The file", body = FileView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
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
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let file = active_file(&state, &principal, &request_id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(FileView::from_proto(file)))
}

/// Marks the row deleted, then removes the object. If the removal fails the row stays
/// `deleted` and the janitor retries it; the client's answer is 204 either way.
#[utoipa::path(
    delete,
    path = "/api/files/{id}",
    tag = "files",
    operation_id = "deleteFile",
    params(("id" = String, Path, format = "uuid", description = "The file's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted; the object is removed from storage"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    delete_owned(&state, &principal, &request_id, id.into_inner()).await?;
    Ok(super::no_content())
}

/// Soft-deletes one of the caller's files, then removes its object.
pub async fn delete_owned(
    state: &AppState,
    principal: &Principal,
    request_id: &RequestId,
    id: String,
) -> Result<(), ApiError> {
    let mut files = state.backends.files();
    let deleted = files
        .delete_file(state.backends.request(
            DeleteFileRequest {
                user_id: principal.user_id.clone(),
                id,
            },
            request_id,
        ))
        .await?
        .into_inner();
    purge_object(state, request_id, &deleted.id, &deleted.file_name).await;
    Ok(())
}

/// Most ids one bulk delete accepts.
const MAX_BULK_DELETE: usize = 100;
/// Object removals of one bulk delete running at once.
const PURGES_IN_FLIGHT: usize = 8;

/// The files to delete.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// File ids (UUIDs), at most 100.
    #[schema(max_items = 100)]
    ids: Vec<String>,
}

/// How many files were really deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDeleted {
    deleted: usize,
}

/// Deletes several files; ids that are not the caller's files are skipped, so the count
/// says how many were really deleted.
#[utoipa::path(
    post,
    path = "/api/files/bulk-delete",
    tag = "files",
    operation_id = "bulkDeleteFiles",
    request_body = BulkDelete,
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "How many of the ids were the caller's files, now deleted", body = BulkDeleted),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn bulk_delete(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    body: web::Json<BulkDelete>,
) -> Result<HttpResponse, ApiError> {
    let ids = body.into_inner().ids;
    if ids.len() > MAX_BULK_DELETE {
        return Err(ApiError::invalid(format!(
            "at most {MAX_BULK_DELETE} ids per request"
        )));
    }
    if let Some(bad) = ids.iter().find(|id| uuid::Uuid::parse_str(id).is_err()) {
        return Err(ApiError::invalid(format!("{bad:?} is not a file id")));
    }
    let mut files = state.backends.files();
    let deleted = files
        .delete_files(state.backends.request(
            DeleteFilesRequest {
                user_id: principal.user_id,
                ids,
            },
            &request_id,
        ))
        .await?
        .into_inner()
        .files;
    let count = deleted.len();
    futures_util::stream::iter(deleted)
        .for_each_concurrent(PURGES_IN_FLIGHT, |file| {
            let state = state.clone();
            let request_id = request_id.clone();
            async move { purge_object(&state, &request_id, &file.id, &file.file_name).await }
        })
        .await;
    Ok(HttpResponse::Ok().json(BulkDeleted { deleted: count }))
}

/// Removes an object whose row no longer needs it and records that it is gone. Failures
/// are logged and left to the janitor, which finds the row still unpurged.
pub async fn purge_object(state: &AppState, request_id: &RequestId, id: &str, key: &str) {
    let mut storage = state.backends.storage();
    let removed = storage
        .delete(state.backends.request(
            DeleteRequest {
                key: key.to_owned(),
            },
            request_id,
        ))
        .await;
    if let Err(status) = removed {
        tracing::warn!(%id, %status, "object removal failed; the janitor will retry");
        return;
    }
    let mut files = state.backends.files();
    let marked = files
        .mark_purged(
            state
                .backends
                .request(MarkPurgedRequest { id: id.to_owned() }, request_id),
        )
        .await;
    if let Err(status) = marked {
        tracing::warn!(%id, %status, "marking the file purged failed; the janitor will retry");
    }
}
