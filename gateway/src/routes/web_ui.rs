//! The web UI: the files Vite built (`FLOWSVAULT_WEB_DIR`), served at `/` under a strict
//! Content-Security-Policy, with every other non-API path answered by `index.html` so
//! the UI's own routes (`/keys`, `/profile`, …) survive a reload. `/api/…` paths that
//! no route serves stay 404 problem documents.

use std::path::{Component, Path, PathBuf};

use actix_files::NamedFile;
use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, header},
    web,
};
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use crate::{problem::ApiError, startup::AppState};

/// What the UI's pages may load: only our own scripts, styles and API; images also from
/// data:/blob: (previews before upload) and https: (identity providers' pictures).
pub const UI_POLICY: &str = "default-src 'self'; img-src 'self' data: blob: https:; \
    media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; \
    frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The built UI, found at start-up. Its files are read from disk on each request, so a
/// rebuild is served at once.
#[derive(Debug)]
pub struct WebUi {
    root: PathBuf,
}

impl WebUi {
    /// The UI in `dir`, or `None` (logged) when it has no `index.html`.
    pub fn load(dir: &str) -> Option<Self> {
        let root = std::fs::canonicalize(dir).ok()?;
        match std::fs::metadata(root.join("index.html")) {
            Ok(_) => Some(Self { root }),
            Err(error) => {
                tracing::warn!(dir, %error, "no web UI to serve (build it with `npm run build` in gateway/web)");
                None
            }
        }
    }

    /// The file a request path names, if it is a plain file inside the root: no `..`,
    /// no hidden names, no symlink out of it.
    fn file(&self, path: &str) -> Option<PathBuf> {
        let decoded = percent_decode_str(path).decode_utf8().ok()?;
        let relative = Path::new(decoded.trim_start_matches('/'));
        let plain = relative.components().all(|component| {
            matches!(component, Component::Normal(name)
                if !name.to_string_lossy().starts_with('.'))
        });
        if !plain || decoded.contains('\\') || decoded.contains('\0') {
            return None;
        }
        let candidate = std::fs::canonicalize(self.root.join(relative)).ok()?;
        (candidate.starts_with(&self.root) && candidate.is_file()).then_some(candidate)
    }
}

/// Everything no route matched: a UI file, the UI's `index.html`, or a 404 problem.
pub async fn fallback(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let path = request.path();
    let is_api = path == "/api" || path.starts_with("/api/");
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(ui) = state.web.as_ref().filter(|_| reads && !is_api) else {
        return super::not_found(request).await;
    };
    if let Some(file) = ui.file(path) {
        let immutable = path.starts_with("/assets/");
        let mut response = NamedFile::open_async(&file)
            .await
            .map_err(|_| ApiError::not_found())?
            .use_etag(!immutable)
            .use_last_modified(!immutable)
            .into_response(&request);
        let headers = response.headers_mut();
        let cache = if immutable {
            // Vite puts a content hash in every asset's name.
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(cache),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(UI_POLICY),
        );
        return Ok(response);
    }
    // A missing asset is missing, not a page.
    if path.starts_with("/assets/") {
        return super::not_found(request).await;
    }
    let index = tokio::fs::read(ui.root.join("index.html"))
        .await
        .map_err(|_| ApiError::not_found())?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, UI_POLICY))
        .body(Bytes::from(index)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_files_inside_the_root_are_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app-1.js"), "x").unwrap();
        std::fs::write(dir.path().join(".env"), "secret").unwrap();
        let ui = WebUi::load(dir.path().to_str().unwrap()).unwrap();

        assert!(ui.file("/assets/app-1.js").is_some());
        assert!(ui.file("/assets/%61pp-1.js").is_some());
        for refused in [
            "/.env",
            "/%2e%2e/etc/passwd",
            "/../index.html",
            "/assets/../../x",
            "/assets",
            "/nope.js",
            "/assets\\app-1.js",
        ] {
            assert!(ui.file(refused).is_none(), "{refused}");
        }
    }
}
