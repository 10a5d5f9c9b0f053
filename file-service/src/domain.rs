//! Domain types parsed once from requests: row states and list queries.

use flowsvault_proto::files::v1::{ListFilesRequest, SortField, SortOrder, StatusFilter};

use crate::error::FileError;

/// The stored state of a row. `expired` is not stored: it is an active row whose
/// `expires_at` has passed by the database clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Pending,
    Active,
    Failed,
    Deleted,
    Purged,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Pending => "pending",
            RowStatus::Active => "active",
            RowStatus::Failed => "failed",
            RowStatus::Deleted => "deleted",
            RowStatus::Purged => "purged",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RowStatus::Pending,
            RowStatus::Active,
            RowStatus::Failed,
            RowStatus::Deleted,
            RowStatus::Purged,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

pub const MAX_PER_PAGE: u32 = 100;
pub const DEFAULT_PER_PAGE: u32 = 20;
const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Active,
    Expired,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    UploadedAt,
    Name,
    Size,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub page: u32,
    pub per_page: u32,
    pub name_contains: Option<String>,
    pub visibility: Visibility,
    pub sort: Sort,
    pub descending: bool,
}

impl ListQuery {
    pub fn parse(request: &ListFilesRequest) -> Result<Self, FileError> {
        let page = if request.page == 0 { 1 } else { request.page };
        let per_page = match request.per_page {
            0 => DEFAULT_PER_PAGE,
            n if n > MAX_PER_PAGE => {
                return Err(FileError::InvalidArgument(format!(
                    "perPage must be at most {MAX_PER_PAGE}"
                )));
            }
            n => n,
        };
        let name_contains = match request.query.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) if text.chars().any(char::is_control) => {
                return Err(FileError::InvalidArgument(
                    "q must not contain control characters".into(),
                ));
            }
            Some(text) if text.chars().count() > MAX_QUERY_CHARS => {
                return Err(FileError::InvalidArgument(format!(
                    "q must be at most {MAX_QUERY_CHARS} characters"
                )));
            }
            Some(text) => Some(text.to_owned()),
        };
        let visibility = match StatusFilter::try_from(request.status) {
            Ok(StatusFilter::Unspecified | StatusFilter::Active) => Visibility::Active,
            Ok(StatusFilter::Expired) => Visibility::Expired,
            Ok(StatusFilter::All) => Visibility::All,
            Err(_) => return Err(FileError::InvalidArgument("unknown status filter".into())),
        };
        let sort = match SortField::try_from(request.sort) {
            Ok(SortField::Unspecified | SortField::UploadedAt) => Sort::UploadedAt,
            Ok(SortField::Name) => Sort::Name,
            Ok(SortField::Size) => Sort::Size,
            Err(_) => return Err(FileError::InvalidArgument("unknown sort field".into())),
        };
        let descending = match SortOrder::try_from(request.order) {
            Ok(SortOrder::Unspecified | SortOrder::Desc) => true,
            Ok(SortOrder::Asc) => false,
            Err(_) => return Err(FileError::InvalidArgument("unknown sort order".into())),
        };
        Ok(Self {
            page,
            per_page,
            name_contains,
            visibility,
            sort,
            descending,
        })
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// The `ILIKE` pattern for the name filter, with `%`, `_` and `\` taken literally.
    pub fn like_pattern(&self) -> Option<String> {
        self.name_contains.as_ref().map(|text| {
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ListFilesRequest {
        ListFilesRequest::default()
    }

    #[test]
    fn an_empty_request_lists_the_first_page_newest_first() {
        let query = ListQuery::parse(&request()).unwrap();
        assert_eq!(query.page, 1);
        assert_eq!(query.per_page, DEFAULT_PER_PAGE);
        assert_eq!(query.visibility, Visibility::Active);
        assert_eq!(query.sort, Sort::UploadedAt);
        assert!(query.descending);
        assert_eq!(query.offset(), 0);
    }

    #[test]
    fn more_than_100_per_page_is_refused() {
        let mut too_many = request();
        too_many.per_page = 101;
        assert!(ListQuery::parse(&too_many).is_err());
    }

    #[test]
    fn like_wildcards_in_the_query_are_literal() {
        let mut search = request();
        search.query = Some("50%_off\\".into());
        let query = ListQuery::parse(&search).unwrap();
        assert_eq!(query.like_pattern().unwrap(), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn unknown_enum_values_are_refused() {
        let mut bad = request();
        bad.sort = 42;
        assert!(ListQuery::parse(&bad).is_err());
    }

    #[test]
    fn row_statuses_round_trip() {
        for status in ["pending", "active", "failed", "deleted", "purged"] {
            assert_eq!(RowStatus::parse(status).unwrap().as_str(), status);
        }
        assert_eq!(RowStatus::parse("expired"), None);
    }
}
