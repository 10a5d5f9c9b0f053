//! Session tokens (in the `fv_session` cookie): kit's random secrets, checked for shape
//! before any lookup. Only their SHA-256 digests are stored.

use flowsvault_kit::secret::{digest, is_secret, random_secret};

use crate::error::AuthError;

/// A session token as presented by a client: the shape is checked before any lookup.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> Self {
        Self(random_secret())
    }

    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        if is_secret(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AuthError::InvalidSession)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> Vec<u8> {
        digest(&self.0)
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SessionToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_distinct() {
        let first = SessionToken::generate();
        let second = SessionToken::generate();
        assert_ne!(first, second);
        assert_eq!(first.expose().len(), 64);
        assert_eq!(SessionToken::parse(first.expose()).unwrap(), first);
        assert_eq!(first.digest().len(), 32);
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        for raw in ["", "abc", &"G".repeat(64), &"a".repeat(65), &"A".repeat(64)] {
            assert!(SessionToken::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn the_debug_form_hides_the_token() {
        let token = SessionToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
