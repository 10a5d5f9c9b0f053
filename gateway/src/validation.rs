//! What an upload must be, beyond its size: an allowed extension, and content whose first
//! bytes agree with that extension. Decided before a row exists, so a refused upload
//! leaves nothing behind.

use std::collections::BTreeSet;

use flowsvault_proto::ErrorCode;

use crate::problem::ApiError;

/// Bytes looked at to recognise the content.
pub const SNIFF_BYTES: usize = 4096;

/// The default allowlist: common documents, images, audio, video, archives and text.
/// Executables, scripts and markup that browsers run are not in it.
pub const DEFAULT_EXTENSIONS: &str = "\
    pdf,txt,md,csv,tsv,json,log,rtf,doc,docx,xls,xlsx,ppt,pptx,odt,ods,odp,epub,\
    jpg,jpeg,png,gif,webp,avif,heic,bmp,tif,tiff,ico,\
    mp3,wav,ogg,oga,flac,m4a,aac,opus,\
    mp4,m4v,mov,webm,mkv,avi,\
    zip,gz,tgz,tar,bz2,xz,zst,7z,rar";

/// Extensions whose formats always start with a signature: content without it is refused.
const SIGNED_EXTENSIONS: &[&str] = &[
    "pdf", "png", "jpg", "jpeg", "gif", "webp", "avif", "heic", "bmp", "tif", "tiff", "ico",
    "flac", "ogg", "oga", "opus", "wav", "mp4", "m4v", "m4a", "mov", "webm", "mkv", "avi", "zip",
    "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "docx", "xlsx", "pptx", "odt", "ods", "odp",
    "epub",
];

/// Formats that are containers of another: what a sniffer sees first, and what it holds.
const SAME_CONTENT: &[(&str, &[&str])] = &[
    ("jpg", &["jpeg"]),
    ("tif", &["tiff"]),
    ("gz", &["tgz"]),
    ("ogg", &["oga", "opus"]),
    ("oga", &["ogg", "opus"]),
    ("opus", &["ogg", "oga"]),
    ("mp4", &["m4v", "m4a", "mov"]),
    ("m4a", &["mp4", "aac"]),
    ("mov", &["mp4", "m4v"]),
    ("webm", &["mkv"]),
    ("mkv", &["webm"]),
    (
        "zip",
        &["docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"],
    ),
    ("docx", &["zip"]),
    ("xlsx", &["zip"]),
    ("pptx", &["zip"]),
    ("epub", &["zip"]),
    ("odt", &["zip"]),
    ("ods", &["zip"]),
    ("odp", &["zip"]),
    ("mp3", &["aac"]),
];

#[derive(Debug, Clone)]
pub struct Allowlist(BTreeSet<String>);

impl Allowlist {
    /// Parses a comma-separated list; `*` alone allows every extension.
    pub fn parse(list: &str) -> Self {
        Self(
            list.split(',')
                .map(|extension| {
                    extension
                        .trim()
                        .trim_start_matches('.')
                        .to_ascii_lowercase()
                })
                .filter(|extension| !extension.is_empty())
                .collect(),
        )
    }

    /// The allowed extensions, sorted; `["*"]` when every one is allowed.
    pub fn extensions(&self) -> Vec<String> {
        if self.0.contains("*") {
            return vec!["*".to_owned()];
        }
        self.0.iter().cloned().collect()
    }

    pub fn allows(&self, extension: &str) -> bool {
        self.0.contains("*") || self.0.contains(extension)
    }
}

/// Refuses an extension that is not on the list.
pub fn check_extension(allowlist: &Allowlist, extension: &str) -> Result<(), ApiError> {
    if allowlist.allows(extension) {
        return Ok(());
    }
    let shown = if extension.is_empty() {
        "files without an extension are".to_owned()
    } else {
        format!(".{extension} files are")
    };
    Err(ApiError::new(
        ErrorCode::FileTypeNotAllowed,
        format!("{shown} not allowed"),
    ))
}

/// The content's type as recognised from its first bytes, when it agrees with the
/// extension: `Some(mime)` when recognised, `None` when the content has no signature
/// and the extension does not need one (plain text, for instance).
pub fn sniff(extension: &str, head: &[u8]) -> Result<Option<&'static str>, ApiError> {
    if head.is_empty() {
        return Ok(None);
    }
    let mismatch = |seen: &str| {
        ApiError::new(
            ErrorCode::ContentMismatch,
            format!("the content looks like {seen}, not .{extension}"),
        )
    };
    if let Some(markup) = active_markup(head) {
        let expected: &[&str] = match markup {
            "HTML" => &["html", "htm"],
            "SVG" => &["svg"],
            _ => &["xml", "svg"],
        };
        return if expected.contains(&extension) {
            Ok(None)
        } else {
            Err(mismatch(markup))
        };
    }
    match infer::get(head) {
        Some(kind) => {
            let seen = kind.extension();
            let equivalent = seen == extension
                || SAME_CONTENT
                    .iter()
                    .any(|(first, also)| *first == seen && also.contains(&extension));
            if equivalent {
                Ok(Some(kind.mime_type()))
            } else {
                Err(mismatch(&format!("{} ({seen})", kind.mime_type())))
            }
        }
        None if SIGNED_EXTENSIONS.contains(&extension) => {
            Err(mismatch("something without its signature"))
        }
        None => Ok(None),
    }
}

/// HTML, SVG or XML at the start of the content: what a browser could run if it were
/// ever served inline.
fn active_markup(head: &[u8]) -> Option<&'static str> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let text = &text[start..text.len().min(start + 512)];
    let lower = text.to_ascii_lowercase();
    let starts = |prefix: &str| lower.starts_with(prefix.as_bytes());
    if [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<iframe",
        "<meta",
        "<style",
    ]
    .iter()
    .any(|prefix| starts(prefix))
    {
        return Some("HTML");
    }
    if starts("<svg") || (starts("<?xml") && contains(&lower, b"<svg")) {
        return Some("SVG");
    }
    if starts("<?xml") {
        return Some("XML");
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    const ZIP: &[u8] = b"PK\x03\x04\x14\0\0\0\x08\0";

    fn code(result: Result<Option<&'static str>, ApiError>) -> Option<ErrorCode> {
        result.err().map(|error| error.code())
    }

    #[test]
    fn the_default_list_allows_documents_and_refuses_executables() {
        let list = Allowlist::parse(DEFAULT_EXTENSIONS);
        for allowed in ["pdf", "png", "jpeg", "mp4", "zip", "txt", "docx"] {
            assert!(list.allows(allowed), "{allowed}");
        }
        for refused in ["exe", "sh", "bat", "html", "svg", "js", ""] {
            assert!(!list.allows(refused), "{refused}");
        }
        assert!(Allowlist::parse(" .PNG , *").allows("anything"));
    }

    #[test]
    fn matching_content_is_recognised() {
        assert_eq!(sniff("png", PNG).ok(), Some(Some("image/png")));
        assert_eq!(sniff("pdf", PDF).ok(), Some(Some("application/pdf")));
        assert_eq!(sniff("zip", ZIP).ok(), Some(Some("application/zip")));
        assert_eq!(sniff("txt", b"hello world").ok(), Some(None));
        assert_eq!(sniff("png", b"").ok(), Some(None));
    }

    #[test]
    fn markup_under_another_extension_is_a_mismatch() {
        for page in [
            &b"<!DOCTYPE html><html><body>hi</body></html>"[..],
            b"\xEF\xBB\xBF  <script>alert(1)</script>",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"<?xml version=\"1.0\"?><svg/>",
        ] {
            assert_eq!(code(sniff("png", page)), Some(ErrorCode::ContentMismatch));
            assert_eq!(code(sniff("txt", page)), Some(ErrorCode::ContentMismatch));
        }
        assert_eq!(code(sniff("html", b"<html></html>")), None);
    }

    #[test]
    fn a_signed_format_without_its_signature_is_a_mismatch() {
        assert_eq!(
            code(sniff("png", b"not an image")),
            Some(ErrorCode::ContentMismatch)
        );
        assert_eq!(code(sniff("pdf", PNG)), Some(ErrorCode::ContentMismatch));
        assert_eq!(code(sniff("txt", PNG)), Some(ErrorCode::ContentMismatch));
    }

    #[test]
    fn containers_match_the_formats_they_hold() {
        assert_eq!(code(sniff("docx", ZIP)), None);
        assert_eq!(code(sniff("jpeg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0")), None);
    }
}
