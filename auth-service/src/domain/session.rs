//! Opaque random secrets: session tokens (in the `fv_session` cookie) and the `state`
//! and `nonce` of a sign-in. Only their SHA-256 digests are stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AuthError;

/// Random bytes in each secret: 256 bits, twice the 128 the issue asks for.
const SECRET_BYTES: usize = 32;

/// 64 lower-case hex characters drawn from the operating system's CSPRNG.
pub fn random_secret() -> String {
    let mut bytes = [0_u8; SECRET_BYTES];
    // ThreadRng: ChaCha12 seeded and reseeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The SHA-256 of a secret, as stored and looked up.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A session token as presented by a client: the shape is checked before any lookup.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> Self {
        Self(random_secret())
    }

    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let well_formed = raw.len() == SECRET_BYTES * 2
            && raw
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if well_formed {
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
