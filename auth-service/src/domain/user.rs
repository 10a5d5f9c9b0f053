//! Who a user is: a normalized email address and an optional display name.

use crate::error::AuthError;

/// The longest address SMTP can carry (RFC 5321 path limit less the brackets).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Display names come from identity providers; anything longer is not a name.
pub const MAX_USER_NAME_CHARS: usize = 256;

/// An email address, trimmed and lower-cased, so one mailbox is one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let normalized = raw.trim().to_lowercase();
        if normalized.is_empty() {
            return Err(AuthError::InvalidEmail("it is empty"));
        }
        if normalized.len() > MAX_EMAIL_BYTES {
            return Err(AuthError::InvalidEmail("it is longer than 254 bytes"));
        }
        if normalized
            .chars()
            .any(|character| character.is_whitespace() || character.is_control())
        {
            return Err(AuthError::InvalidEmail("it contains whitespace"));
        }
        let mut parts = normalized.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AuthError::InvalidEmail("it must contain exactly one @"));
        };
        if local.is_empty() || domain.is_empty() {
            return Err(AuthError::InvalidEmail(
                "both sides of the @ must be non-empty",
            ));
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name, trimmed; a blank name is no name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, AuthError> {
        let Some(trimmed) = raw.map(str::trim).filter(|name| !name.is_empty()) else {
            return Ok(None);
        };
        if trimmed.chars().count() > MAX_USER_NAME_CHARS {
            return Err(AuthError::InvalidUserName(
                "it is longer than 256 characters",
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(AuthError::InvalidUserName("it contains control characters"));
        }
        Ok(Some(Self(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.ORG \n").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.org");
    }

    #[test]
    fn emails_differing_only_in_case_are_equal() {
        assert_eq!(
            Email::parse("ADA@example.org").unwrap(),
            Email::parse("ada@EXAMPLE.org").unwrap()
        );
    }

    #[test]
    fn an_email_needs_exactly_one_at_sign() {
        assert!(Email::parse("ada.example.org").is_err());
        assert!(Email::parse("ada@lovelace@example.org").is_err());
    }

    #[test]
    fn both_sides_of_the_at_sign_must_be_non_empty() {
        assert!(Email::parse("@example.org").is_err());
        assert!(Email::parse("ada@").is_err());
        assert!(Email::parse("@").is_err());
        assert!(Email::parse("   ").is_err());
    }

    #[test]
    fn an_email_with_inner_whitespace_is_refused() {
        assert!(Email::parse("ada lovelace@example.org").is_err());
        assert!(Email::parse("ada@exa\tmple.org").is_err());
    }

    #[test]
    fn an_email_may_be_254_bytes_but_no_longer() {
        let domain = "@example.org";
        let longest = format!("{}{domain}", "a".repeat(MAX_EMAIL_BYTES - domain.len()));
        assert_eq!(Email::parse(&longest).unwrap().as_str().len(), 254);
        let too_long = format!("a{longest}");
        assert!(Email::parse(&too_long).is_err());
    }

    #[test]
    fn a_blank_user_name_is_no_name() {
        assert_eq!(UserName::parse_optional(Some("   ")).unwrap(), None);
        assert_eq!(UserName::parse_optional(None).unwrap(), None);
        let name = UserName::parse_optional(Some(" Ada ")).unwrap().unwrap();
        assert_eq!(name.as_str(), "Ada");
    }

    #[test]
    fn an_overlong_user_name_is_refused() {
        let name = "x".repeat(MAX_USER_NAME_CHARS + 1);
        assert!(UserName::parse_optional(Some(&name)).is_err());
    }
}
