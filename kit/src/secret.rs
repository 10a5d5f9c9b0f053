//! Opaque random secrets (session tokens, share-link tokens, sign-in `state` and `nonce`,
//! download grants): 256 bits from a CSPRNG, written as 64 lower-case hex characters.
//! Services store only their SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in each secret: 256 bits.
pub const SECRET_BYTES: usize = 32;

/// A new secret, drawn from ThreadRng (ChaCha12, seeded and reseeded from the OS).
pub fn random_secret() -> String {
    let mut bytes = [0_u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether `text` has the shape `random_secret` makes, so malformed input is refused
/// before any lookup.
pub fn is_secret(text: &str) -> bool {
    text.len() == SECRET_BYTES * 2
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// The SHA-256 of a secret, as stored and looked up.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_hex_and_distinct() {
        let first = random_secret();
        assert!(is_secret(&first));
        assert_ne!(first, random_secret());
        assert_eq!(digest(&first).len(), 32);
    }

    #[test]
    fn other_shapes_are_not_secrets() {
        for text in ["", "abc", &"G".repeat(64), &"a".repeat(65), &"A".repeat(64)] {
            assert!(!is_secret(text), "{text}");
        }
    }
}
