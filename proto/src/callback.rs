//! The one rule for where a browser may be sent after signing in, shared by the gateway
//! (which reads `callbackUrl`) and auth-service (which keeps it during the sign-in).

/// Where the browser may be sent after signing in: a path on our own origin. Anything
/// that a browser could read as another origin (`//host`, `/\host`, a scheme, control
/// characters) becomes `/`.
pub fn safe_callback_path(raw: &str) -> &str {
    let looks_relative = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= 2048
        && !raw
            .chars()
            .any(|character| character.is_control() || character == '\\');
    if looks_relative { raw } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_survive() {
        assert_eq!(safe_callback_path("/files?page=2"), "/files?page=2");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/a\\b",
            "javascript:alert(1)",
            "evil.example",
            "/\nLocation: x",
            "",
        ] {
            assert_eq!(safe_callback_path(hostile), "/", "{hostile:?}");
        }
    }
}
