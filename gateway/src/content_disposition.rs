//! `Content-Disposition: attachment` per RFC 6266: an ASCII `filename` fallback and the
//! exact name in `filename*` (RFC 8187). Nothing in a name can break out of the header.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 8187 `attr-char` is percent-encoded.
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

pub fn attachment(name: &str) -> String {
    disposition("attachment", name)
}

pub fn inline(name: &str) -> String {
    disposition("inline", name)
}

fn disposition(kind: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|character| match character {
            ' '..='~' if character != '"' && character != '\\' && character != '%' => character,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, NOT_ATTR_CHAR);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ascii_name_is_kept_in_both_forms() {
        assert_eq!(
            attachment("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
    }

    #[test]
    fn a_unicode_name_is_percent_encoded_with_an_ascii_fallback() {
        assert_eq!(
            attachment("résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }

    #[test]
    fn quotes_and_line_breaks_cannot_break_out_of_the_header() {
        let value = attachment("a\"; filename=evil.exe\r\nSet-Cookie: x=1");
        assert!(!value.contains('\r') && !value.contains('\n'));
        assert_eq!(value.matches('"').count(), 2);
        assert!(actix_web::http::header::HeaderValue::from_str(&value).is_ok());
    }
}
