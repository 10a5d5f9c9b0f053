//! The HTML of the public share page `/s/{token}`: the file's name, size and expiry and a
//! download button (a form, so it works without JavaScript), with a password field when
//! the link has one. Everything shown is escaped; the page's only style is inline and
//! allowed by its hash, and it runs no script.

use std::{fmt::Write, sync::LazyLock};

use flowsvault_proto::{ErrorCode, files::v1::SharedFile};
use sha2::{Digest, Sha256};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;min-height:100vh;\
display:grid;place-items:center;background:#f4f5f7;color:#1c1e21}\
@media(prefers-color-scheme:dark){body{background:#16181c;color:#e8eaed}\
main{background:#22252a!important}input{background:#16181c;color:#e8eaed}}\
main{background:#fff;padding:2rem;border-radius:12px;max-width:28rem;width:calc(100% - 2rem);\
box-shadow:0 2px 12px #0002}h1{font-size:1.25rem;word-break:break-word;margin:0 0 .5rem}\
p{margin:.25rem 0}.meta{opacity:.75}.error{color:#c62828;font-weight:600}\
form{margin-top:1.25rem;display:grid;gap:.75rem}label{display:grid;gap:.25rem}\
input{padding:.6rem;border:1px solid #888;border-radius:8px;font-size:1rem}\
button{padding:.7rem;border:0;border-radius:8px;background:#2563eb;color:#fff;\
font-size:1rem;cursor:pointer}button:focus-visible,input:focus-visible{outline:3px solid #93c5fd}";

/// The page's Content-Security-Policy: nothing but its own inline style and forms back
/// to us.
pub fn policy() -> &'static str {
    static POLICY: LazyLock<String> = LazyLock::new(|| {
        let hash = Sha256::digest(STYLE.as_bytes());
        format!(
            "default-src 'none'; style-src 'sha256-{}'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
            base64_encode(&hash)
        )
    });
    &POLICY
}

/// The page of a link that can be used; `problem` explains a refused attempt.
pub fn available(token: &str, shared: &SharedFile, problem: Option<ErrorCode>) -> String {
    let mut body = String::new();
    let _ = write!(body, "<h1>{}</h1>", escape(&shared.name));
    let _ = write!(
        body,
        "<p class=\"meta\">{} · {}</p>",
        human_size(shared.size),
        escape(&shared.mime_type)
    );
    if let Some(expiry) = super::shares::expiry_text(shared) {
        let _ = write!(
            body,
            "<p class=\"meta\">Available until {}</p>",
            escape(&expiry)
        );
    }
    if let Some(left) = shared.downloads_left {
        let plural = if left == 1 { "" } else { "s" };
        let _ = write!(body, "<p class=\"meta\">{left} download{plural} left</p>");
    }
    if let Some(problem) = problem {
        let message = match problem {
            ErrorCode::WrongPassword => "That password is not right.",
            ErrorCode::PasswordRequired => "Enter the password to download.",
            ErrorCode::RateLimited => "Too many attempts. Try again in a few minutes.",
            _ => "The download did not work.",
        };
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{message}</p>");
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/s/{}\">",
        escape(token)
    );
    if shared.has_password {
        body.push_str(
            "<label>Password<input type=\"password\" name=\"password\" required \
             autocomplete=\"off\" autofocus></label>",
        );
    }
    body.push_str("<button type=\"submit\">Download</button></form>");
    document(&shared.name, &body)
}

/// The page of a link that cannot be used.
pub fn unavailable(code: ErrorCode) -> String {
    let (title, text) = match code {
        ErrorCode::ShareExpired | ErrorCode::FileExpired => (
            "This link has expired",
            "The file is no longer available through this link.",
        ),
        ErrorCode::ShareUsedUp => (
            "This link has been used up",
            "It allowed a limited number of downloads, and all of them have been made.",
        ),
        ErrorCode::RateLimited => ("Too many requests", "Try again in a few minutes."),
        ErrorCode::NotFound | ErrorCode::InvalidRequest => (
            "Link not found",
            "This link does not exist or has been revoked.",
        ),
        _ => (
            "Something went wrong",
            "The file cannot be shown right now. Try again later.",
        ),
    };
    document(title, &format!("<h1>{title}</h1><p>{text}</p>"))
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{} · Flowsvault</title>\
         <style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// Text made safe for HTML content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Standard base64 with padding, for the CSP hash.
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let triple = chunk.iter().enumerate().fold(0_u32, |acc, (index, byte)| {
            acc | u32::from(*byte) << (16 - 8 * index)
        });
        for index in 0..4 {
            if index <= chunk.len() {
                let sextet = (triple >> (18 - 6 * index)) & 0x3f;
                encoded.push(char::from(ALPHABET[sextet as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str, has_password: bool) -> SharedFile {
        SharedFile {
            name: name.to_owned(),
            size: 1536,
            mime_type: "image/png".to_owned(),
            expires_at: None,
            has_password,
            downloads_left: Some(1),
        }
    }

    #[test]
    fn names_are_escaped() {
        let page = available(
            "ab",
            &shared("<script>alert(1)</script>\".png", false),
            None,
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;.png"));
        assert!(page.contains("1.5 KiB"));
        assert!(page.contains("1 download left"));
        assert!(!page.contains("name=\"password\""));
    }

    #[test]
    fn a_password_link_asks_for_it_and_says_when_it_was_wrong() {
        let page = available("ab", &shared("a.png", true), Some(ErrorCode::WrongPassword));
        assert!(page.contains("name=\"password\""));
        assert!(page.contains("role=\"alert\""));
        assert!(page.contains("action=\"/s/ab\""));
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style() {
        let policy = policy();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!policy.contains("script-src"));
        // Known vectors of RFC 4648.
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }
}
