//! Writes that never finished and that no running upload will finish: multipart uploads
//! on S3 and `{key}#n` files on local disk that a storage-service killed mid-upload left
//! behind (a live one aborts its own when an upload fails). Only writes started longer
//! ago than the caller's threshold are touched, since other replicas may be writing.

use std::{
    collections::HashSet,
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use object_store::{
    aws::AmazonS3,
    multipart::MultipartStore,
    path::Path,
    signer::{SignedUrlOptions, Signer},
};
use serde::Deserialize;

use crate::error::StorageError;

/// Most pages of 1,000 uploads one listing reads.
const MOST_PAGES: usize = 100;
/// Validity of the signed listing requests.
const LISTING_URL_LIFETIME: Duration = Duration::from_secs(60);

/// An unfinished multipart upload on the S3 backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMultipartUploadsResult {
    #[serde(default, rename = "Upload")]
    uploads: Vec<UploadEntry>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_key_marker: Option<String>,
    #[serde(default)]
    next_upload_id_marker: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UploadEntry {
    key: String,
    upload_id: String,
    initiated: DateTime<Utc>,
}

/// The multipart uploads in progress for keys that begin with `prefix` (S3's
/// ListMultipartUploads, which `object_store` does not offer: a signed GET of
/// `?uploads`, page by page).
pub async fn incomplete_uploads(
    s3: &AmazonS3,
    prefix: &str,
) -> Result<Vec<IncompleteUpload>, StorageError> {
    let client = reqwest::Client::new();
    let mut uploads = Vec::new();
    let mut markers: Option<(String, String)> = None;
    for _ in 0..MOST_PAGES {
        let mut query = vec![("uploads".to_owned(), String::new())];
        if !prefix.is_empty() {
            query.push(("prefix".to_owned(), prefix.to_owned()));
        }
        if let Some((key, upload_id)) = &markers {
            query.push(("key-marker".to_owned(), key.clone()));
            query.push(("upload-id-marker".to_owned(), upload_id.clone()));
        }
        let url = s3
            .signed_url_opts(
                tonic::codegen::http::Method::GET,
                &Path::default(),
                LISTING_URL_LIFETIME,
                &SignedUrlOptions::new().with_query(query),
            )
            .await?;
        let listing_failed = |reason: String| StorageError::Listing(reason);
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|error| listing_failed(error.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| listing_failed(error.to_string()))?;
        if !status.is_success() {
            return Err(listing_failed(format!("the bucket answered {status}")));
        }
        let page: ListMultipartUploadsResult =
            quick_xml::de::from_str(&body).map_err(|error| listing_failed(error.to_string()))?;
        // Filtered here too, for servers that ignore the parameter.
        let matching = page
            .uploads
            .into_iter()
            .filter(|entry| entry.key.starts_with(prefix));
        uploads.extend(matching.map(|entry| IncompleteUpload {
            key: entry.key,
            upload_id: entry.upload_id,
            initiated: entry.initiated,
        }));
        match (
            page.is_truncated,
            page.next_key_marker,
            page.next_upload_id_marker,
        ) {
            (true, Some(key), Some(upload_id)) => markers = Some((key, upload_id)),
            _ => return Ok(uploads),
        }
    }
    Ok(uploads)
}

/// Aborts the multipart uploads of keys beginning with `prefix` started before
/// `cutoff`, except those `in_use` (resumable uploads still going on); how many it
/// aborted.
pub async fn abort_uploads_before(
    s3: &AmazonS3,
    cutoff: DateTime<Utc>,
    prefix: &str,
    in_use: &HashSet<String>,
) -> Result<u64, StorageError> {
    let mut aborted = 0;
    for upload in incomplete_uploads(s3, prefix).await? {
        if upload.initiated >= cutoff || in_use.contains(&upload.upload_id) {
            continue;
        }
        let path = Path::from(upload.key.as_str());
        match s3.abort_multipart(&path, &upload.upload_id).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                tracing::info!(key = %upload.key, initiated = %upload.initiated,
                    "aborted a multipart upload left by an interrupted write");
                aborted += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(aborted)
}

/// Removes the local backend's `{key}#n` files of keys beginning with `prefix` last
/// written before `cutoff`; how many.
pub async fn remove_local_writes_before(
    root: &std::path::Path,
    cutoff: SystemTime,
    prefix: &str,
) -> Result<u64, StorageError> {
    let mut removed = 0;
    let mut entries = tokio::fs::read_dir(root).await.map_err(StorageError::Io)?;
    while let Some(entry) = entries.next_entry().await.map_err(StorageError::Io)? {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name.starts_with('.') || !name.contains('#') || !name.starts_with(prefix) {
            continue;
        }
        let Ok(metadata) = entry.metadata().await else {
            continue;
        };
        if !metadata.is_file() || metadata.modified().map_or(true, |at| at >= cutoff) {
            continue;
        }
        match tokio::fs::remove_file(entry.path()).await {
            Ok(()) => {
                tracing::info!(file = name, "removed a write left by an interrupted upload");
                removed += 1;
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(StorageError::Io(error)),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_page_is_read_with_its_markers() {
        let page: ListMultipartUploadsResult = quick_xml::de::from_str(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
              <NextKeyMarker>k2</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>
              <MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>
              <Upload><Key>k1</Key><UploadId>u1</UploadId>
                <Initiated>2026-11-28T01:02:03.000Z</Initiated><StorageClass>STANDARD</StorageClass></Upload>
              <Upload><Key>k2</Key><UploadId>u2</UploadId>
                <Initiated>2026-11-28T01:02:04Z</Initiated></Upload>
            </ListMultipartUploadsResult>"#,
        )
        .unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.next_key_marker.as_deref(), Some("k2"));
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[1].upload_id, "u2");
        assert_eq!(
            page.uploads[0].initiated,
            "2026-11-28T01:02:03Z".parse::<DateTime<Utc>>().unwrap()
        );
        let empty: ListMultipartUploadsResult = quick_xml::de::from_str(
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
        )
        .unwrap();
        assert!(empty.uploads.is_empty());
    }
}
