//! The caller's API keys: listing them, issuing one (its whole key shown this once) and
//! revoking one, which this gateway stops accepting at once.

use actix_web::{HttpResponse, http::header, web};
use chrono::{SecondsFormat, TimeDelta, Utc};
use flowsvault_proto::{
    ErrorCode,
    auth::v1::{ApiKey, CreateApiKeyRequest, ListApiKeysRequest, RevokeApiKeyRequest},
    from_timestamp, to_timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{
    ToSchema,
    openapi::{
        Schema,
        schema::{ObjectBuilder, OneOfBuilder, Type},
    },
};

use super::openapi::{
    BadGateway, BadRequest, Forbidden, GatewayTimeout, NotFound, ServiceUnavailable,
    TooManyRequests, Unauthorized,
};
use crate::{auth::Principal, problem::ApiError, request_id::RequestId, startup::AppState};

/// What may be shown about a key: never the key itself, nor its hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApiKey)]
pub struct KeyView {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    /// The 8 characters after `fv_`, by which the key is looked up.
    #[schema(example = "AbCdEfGh")]
    pub prefix: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// `null` for a key that does not expire.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

impl KeyView {
    fn from_proto(key: ApiKey) -> Self {
        Self {
            created_at: key.created_at.as_ref().map(rfc3339).unwrap_or_default(),
            last_used_at: key.last_used_at.as_ref().map(rfc3339),
            expires_at: key.expires_at.as_ref().map(rfc3339),
            revoked_at: key.revoked_at.as_ref().map(rfc3339),
            id: key.id,
            name: key.name,
            prefix: key.prefix,
        }
    }
}

pub(super) fn rfc3339(timestamp: &prost_types::Timestamp) -> String {
    from_timestamp(timestamp)
        .map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A key just issued: its description and, this once, the whole key.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = IssuedApiKey)]
struct IssuedKeyView {
    #[serde(flatten)]
    view: KeyView,
    /// The whole key, shown this once only.
    #[schema(example = "fv_AbCdEfGh_0123456789abcdefghijABCDEFGHIJklmnopqrst")]
    key: String,
}

/// A key to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKey {
    #[schema(min_length = 1, max_length = 100, example = "laptop")]
    name: String,
    /// Kept as raw JSON so that each wrong shape gets a precise answer from
    /// `KeyLifetime::parse` rather than a serde message.
    #[schema(schema_with = key_lifetime_schema, required = false)]
    expires_in: Option<Value>,
}

/// `expiresIn`: seconds, or `<n>h` / `<n>d`, from one hour to ten years; absent for a
/// key that never expires.
pub(super) fn key_lifetime_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(MIN_LIFETIME_SECONDS))
                .maximum(Some(MAX_LIFETIME_SECONDS))
                .description(Some("Whole seconds")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]+[hd]$"))
                .description(Some("Hours or days, e.g. `12h` or `30d`")),
        )
        .description(Some(
            "How long it lives, from 1 hour to 10 years (3650 days); without it, it does not expire",
        ))
        .into()
}

const SECONDS_PER_HOUR: u64 = 60 * 60;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;
const MIN_LIFETIME_SECONDS: u64 = SECONDS_PER_HOUR;
/// Ten years of 365 days.
const MAX_LIFETIME_SECONDS: u64 = 3650 * SECONDS_PER_DAY;

/// How long a new key (or share link) lives: from one hour to ten years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyLifetime(pub(super) TimeDelta);

impl KeyLifetime {
    /// A positive whole number of seconds, or a string `<n>h` or `<n>d`.
    pub(super) fn parse(expires_in: &Value) -> Result<Self, ApiError> {
        let seconds = match expires_in {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => seconds_of_text(text),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::invalid(
                "expiresIn must be a whole number of seconds or a string such as \"12h\" or \"30d\"",
            )
        })?;
        if !(MIN_LIFETIME_SECONDS..=MAX_LIFETIME_SECONDS).contains(&seconds) {
            return Err(ApiError::invalid(
                "expiresIn must be between 1 hour and 10 years (3650 days)",
            ));
        }
        let seconds =
            i64::try_from(seconds).map_err(|_| ApiError::invalid("expiresIn is out of range"))?;
        Ok(Self(TimeDelta::seconds(seconds)))
    }
}

/// `12h` or `30d` in seconds; `None` for any other text, or one too large to count.
fn seconds_of_text(text: &str) -> Option<u64> {
    let (count, unit_seconds) = if let Some(hours) = text.strip_suffix('h') {
        (hours, SECONDS_PER_HOUR)
    } else {
        (text.strip_suffix('d')?, SECONDS_PER_DAY)
    };
    // `u64::from_str` would also take a leading `+`.
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    count.parse::<u64>().ok()?.checked_mul(unit_seconds)
}

/// The caller's keys, newest first, revoked and expired ones included.
#[utoipa::path(
    get,
    path = "/api/keys",
    tag = "keys",
    operation_id = "listKeys",
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller's keys, newest first", body = Vec<KeyView>),
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
) -> Result<HttpResponse, ApiError> {
    let mut auth = state.backends.auth();
    let listed = auth
        .list_api_keys(state.backends.request(
            ListApiKeysRequest {
                user_id: principal.user_id,
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let views: Vec<KeyView> = listed
        .api_keys
        .into_iter()
        .map(KeyView::from_proto)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Issues a key for the caller. The answer is the only place the whole key ever appears,
/// so it must not be stored by any cache on the way.
#[utoipa::path(
    post,
    path = "/api/keys",
    tag = "keys",
    operation_id = "createKey",
    request_body = CreateKey,
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 201, description = "The key, shown this once only", body = IssuedKeyView,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    body: web::Json<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    let CreateKey { name, expires_in } = body.into_inner();
    let lifetime = expires_in.as_ref().map(KeyLifetime::parse).transpose()?;
    let expires_at = lifetime.map(|KeyLifetime(lifetime)| to_timestamp(Utc::now() + lifetime));
    let mut auth = state.backends.auth();
    let created = auth
        .create_api_key(state.backends.request(
            CreateApiKeyRequest {
                user_id: principal.user_id,
                name,
                expires_at,
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let Some(api_key) = created.api_key else {
        return Err(ApiError::new(
            ErrorCode::UpstreamFailed,
            "auth-service issued a key without describing it",
        ));
    };
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(IssuedKeyView {
            view: KeyView::from_proto(api_key),
            key: created.key,
        }))
}

/// Revokes one of the caller's keys (again: still 204). This replica forgets the key at
/// once; the others within their cache TTL (see `KeyCache::forget_key`).
#[utoipa::path(
    delete,
    path = "/api/keys/{id}",
    tag = "keys",
    operation_id = "revokeKey",
    params(("id" = String, Path, format = "uuid", description = "The key's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked (also when it was already)"),
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
pub async fn revoke(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut auth = state.backends.auth();
    let revoked = auth
        .revoke_api_key(state.backends.request(
            RevokeApiKeyRequest {
                user_id: principal.user_id,
                id: id.into_inner(),
            },
            &request_id,
        ))
        .await?
        .into_inner();
    state.keys.forget_key(&revoked.id);
    Ok(super::no_content())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lifetime(expires_in: Value) -> Option<TimeDelta> {
        KeyLifetime::parse(&expires_in)
            .ok()
            .map(|KeyLifetime(delta)| delta)
    }

    #[test]
    fn seconds_hours_and_days_are_understood() {
        assert_eq!(lifetime(json!(3600)), Some(TimeDelta::hours(1)));
        assert_eq!(lifetime(json!(86_400)), Some(TimeDelta::days(1)));
        assert_eq!(lifetime(json!("1h")), Some(TimeDelta::hours(1)));
        assert_eq!(lifetime(json!("12h")), Some(TimeDelta::hours(12)));
        assert_eq!(lifetime(json!("30d")), Some(TimeDelta::days(30)));
        assert_eq!(lifetime(json!("3650d")), Some(TimeDelta::days(3650)));
    }

    #[test]
    fn a_lifetime_outside_one_hour_to_ten_years_is_refused() {
        for expires_in in [
            json!(0),
            json!(3599),
            json!("0h"),
            json!("0d"),
            json!("3651d"),
            json!("87601h"),
            json!(MAX_LIFETIME_SECONDS + 1),
            json!("99999d"),
        ] {
            assert_eq!(lifetime(expires_in.clone()), None, "{expires_in}");
        }
    }

    #[test]
    fn any_other_shape_is_refused() {
        for expires_in in [
            json!(-5),
            json!(3600.5),
            json!(1e30),
            json!("soon"),
            json!(""),
            json!("h"),
            json!("3600"),
            json!("+2h"),
            json!("-2h"),
            json!(" 2h"),
            json!("2 h"),
            json!("2H"),
            json!("2w"),
            json!("1.5d"),
            json!("99999999999999999999d"),
            json!("18446744073709551615d"),
            json!("٣d"),
            json!(true),
            json!([3600]),
            json!({ "hours": 1 }),
        ] {
            assert_eq!(lifetime(expires_in.clone()), None, "{expires_in}");
        }
    }

    #[test]
    fn a_key_view_has_camel_case_members_and_nulls_for_absent_times() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 120_000_000).unwrap();
        let view = KeyView::from_proto(ApiKey {
            id: "id".into(),
            name: "ci".into(),
            prefix: "AbCdEfGh".into(),
            created_at: Some(to_timestamp(at)),
            last_used_at: None,
            expires_at: None,
            revoked_at: Some(to_timestamp(at)),
        });
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["createdAt"], "2023-11-14T22:13:20.120Z");
        assert_eq!(json["revokedAt"], "2023-11-14T22:13:20.120Z");
        assert_eq!(json["lastUsedAt"], Value::Null);
        assert_eq!(json["expiresAt"], Value::Null);
        assert_eq!(json.as_object().unwrap().len(), 7);
    }
}
