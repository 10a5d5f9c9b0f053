//! API keys: their exact shape, how they are generated, hashed and checked, and what
//! may be said about a key (its name and expiry) when it is issued.
//!
//! A key is `fv_` + 8 base62 characters (the prefix, which finds the row) + `_` + 43
//! base62 characters (the secret: 43 × log2(62) ≈ 256 bits). Only a bcrypt hash of the
//! whole key is stored.

use std::{sync::LazyLock, time::Duration};

use chrono::{DateTime, Utc};
use rand::{Rng, distr::Alphanumeric};
use sha2::{Digest, Sha256};

use crate::error::AuthError;

const TAG: &str = "fv_";
pub const PREFIX_CHARS: usize = 8;
pub const SECRET_CHARS: usize = 43;
/// bcrypt work factor: about 100 ms of CPU per hash or check.
pub const HASH_COST: u32 = 10;
pub const MAX_KEY_NAME_CHARS: usize = 100;
/// Keys remembered as checked, and for how long: enough for every key in steady use, a
/// few hundred KiB at most.
const CHECKED_KEYS: u64 = 10_000;
const CHECKED_FOR: Duration = Duration::from_secs(60 * 60);

/// A well-formed API key. It has no `Display`, and its `Debug` shows only the prefix,
/// so it cannot end up in a log by accident. No `PartialEq` either: keys are compared
/// only through bcrypt.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// A new key from the thread-local CSPRNG (seeded from the operating system).
    pub fn generate() -> Self {
        let prefix = random_base62(PREFIX_CHARS);
        let secret = random_base62(SECRET_CHARS);
        Self(format!("{TAG}{prefix}_{secret}"))
    }

    /// Accepts exactly the shape `generate` produces, nothing looser.
    pub fn parse(presented: &str) -> Result<Self, AuthError> {
        let Some((prefix, secret)) = presented
            .strip_prefix(TAG)
            .and_then(|rest| rest.split_once('_'))
        else {
            return Err(AuthError::InvalidApiKey);
        };
        let well_formed = prefix.len() == PREFIX_CHARS
            && secret.len() == SECRET_CHARS
            && is_base62(prefix)
            && is_base62(secret);
        if !well_formed {
            return Err(AuthError::InvalidApiKey);
        }
        Ok(Self(presented.to_owned()))
    }

    /// The public part that identifies the key's row.
    pub fn prefix(&self) -> &str {
        &self.0[TAG.len()..TAG.len() + PREFIX_CHARS]
    }

    fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The whole key, for the one moment it is shown to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Blocks for about 100 ms: call from a blocking task.
    pub fn hash(&self) -> Result<KeyHash, AuthError> {
        bcrypt::hash(&self.0, HASH_COST)
            .map(KeyHash)
            .map_err(AuthError::Hashing)
    }

    /// Whether this key is the one `stored` was made from. With no stored hash, a dummy
    /// hash is checked instead and the answer is always no, so that an unknown prefix
    /// costs the same time as a known one. Blocks for about 100 ms.
    pub fn matches(&self, stored: Option<&KeyHash>) -> Result<bool, AuthError> {
        match stored {
            Some(hash) => bcrypt::verify(&self.0, &hash.0).map_err(AuthError::Hashing),
            None => {
                let dummy = DUMMY_HASH
                    .as_ref()
                    .map_err(|error| AuthError::DummyHash(error.to_string()))?;
                bcrypt::verify(&self.0, &dummy.0).map_err(AuthError::Hashing)?;
                Ok(false)
            }
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "ApiKey({TAG}{}_…)", self.prefix())
    }
}

/// Checked against when a prefix is unknown; made once, from a key nobody ever sees.
static DUMMY_HASH: LazyLock<Result<KeyHash, bcrypt::BcryptError>> =
    LazyLock::new(|| bcrypt::hash(ApiKey::generate().0, HASH_COST).map(KeyHash));

/// Computes the dummy hash now, so that the first unknown prefix is not the slow one.
/// Blocks for about 100 ms.
pub fn prepare_dummy_hash() -> Result<(), AuthError> {
    DUMMY_HASH
        .as_ref()
        .map(|_| ())
        .map_err(|error| AuthError::DummyHash(error.to_string()))
}

fn random_base62(length: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

fn is_base62(text: &str) -> bool {
    text.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// A bcrypt hash of a whole key, as stored.
#[derive(Clone)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("KeyHash(…)")
    }
}

/// The keys this process has already checked with bcrypt, each by the SHA-256 of the
/// whole key, with the stored hash it matched. Gateways verify a key they have cached
/// again every few seconds to learn of revocation and expiry; without this, each of those
/// checks would pay bcrypt again, and a few hundred keys in use would keep a core busy.
///
/// It vouches only for the exact key it checked, and only while the row still holds the
/// hash it was checked against. The database is still read for every verification, so
/// revocation and expiry apply at once. Only digests of keys that passed bcrypt are kept:
/// a guessed key is never among them and always pays the full check. SHA-256 suffices
/// here because the secret has 256 bits; bcrypt is for the stored hashes, which might
/// leak.
pub struct CheckedKeys(moka::sync::Cache<[u8; 32], KeyHash>);

impl CheckedKeys {
    pub fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(CHECKED_KEYS)
                .time_to_live(CHECKED_FOR)
                .build(),
        )
    }

    /// Whether `key` was checked against exactly `stored` before.
    pub fn vouch_for(&self, key: &ApiKey, stored: &KeyHash) -> bool {
        self.0
            .get(&key.digest())
            .is_some_and(|checked| checked.0 == stored.0)
    }

    /// Records that bcrypt found `key` to match `stored`.
    pub fn remember(&self, key: &ApiKey, stored: &KeyHash) {
        self.0.insert(key.digest(), stored.clone());
    }
}

impl Default for CheckedKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CheckedKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "CheckedKeys({} keys)", self.0.entry_count())
    }
}

/// What the owner calls a key: 1 to 100 characters once trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(AuthError::InvalidKeyName("it is empty"));
        }
        if trimmed.chars().count() > MAX_KEY_NAME_CHARS {
            return Err(AuthError::InvalidKeyName(
                "it is longer than 100 characters",
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(AuthError::InvalidKeyName("it contains control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When a new key stops working: always in the future at the time it is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyExpiry(DateTime<Utc>);

impl KeyExpiry {
    pub fn parse(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, AuthError> {
        if at <= now {
            return Err(AuthError::InvalidRequest(
                "expires_at must be in the future",
            ));
        }
        Ok(Self(at))
    }

    /// `days` whole days after `now`.
    pub fn in_days(days: u32, now: DateTime<Utc>) -> Result<Self, AuthError> {
        let at = now
            .checked_add_days(chrono::Days::new(u64::from(days)))
            .ok_or(AuthError::InvalidRequest("the expiry is out of range"))?;
        Self::parse(at, now)
    }

    pub fn at(self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn replace_char(key: &str, index: usize, replacement: char) -> String {
        key.chars()
            .enumerate()
            .map(|(position, character)| {
                if position == index {
                    replacement
                } else {
                    character
                }
            })
            .collect()
    }

    #[test]
    fn a_generated_key_has_the_documented_shape() {
        let key = ApiKey::generate();
        let text = key.expose();
        assert_eq!(text.len(), 3 + PREFIX_CHARS + 1 + SECRET_CHARS);
        assert!(text.starts_with("fv_"));
        assert_eq!(&text[11..12], "_");
        assert!(is_base62(&text[3..11]));
        assert!(is_base62(&text[12..]));
        assert_eq!(key.prefix(), &text[3..11]);
    }

    #[test]
    fn generated_keys_and_prefixes_are_unique() {
        let keys: Vec<ApiKey> = (0..1000).map(|_| ApiKey::generate()).collect();
        let whole: HashSet<&str> = keys.iter().map(ApiKey::expose).collect();
        let prefixes: HashSet<&str> = keys.iter().map(ApiKey::prefix).collect();
        assert_eq!(whole.len(), keys.len());
        assert_eq!(prefixes.len(), keys.len());
    }

    #[test]
    fn the_secret_carries_at_least_32_bytes_of_entropy() {
        let bits = SECRET_CHARS as f64 * 62f64.log2();
        assert!(bits >= 256.0 - 0.5, "only {bits} bits");
    }

    #[test]
    fn a_generated_key_parses_back_to_itself() {
        let key = ApiKey::generate();
        assert_eq!(ApiKey::parse(key.expose()).unwrap().expose(), key.expose());
    }

    #[test]
    fn a_key_with_a_wrong_tag_is_refused() {
        let key = ApiKey::generate();
        let secret_part = &key.expose()[3..];
        for tag in ["", "fw_", "FV_", "fv-", "xfv_"] {
            let presented = format!("{tag}{secret_part}");
            assert!(ApiKey::parse(&presented).is_err(), "{tag} was accepted");
        }
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused() {
        let key = ApiKey::generate();
        let text = key.expose();
        assert!(ApiKey::parse(&text[..text.len() - 1]).is_err());
        assert!(ApiKey::parse(&format!("{text}a")).is_err());
        let short_prefix = format!("fv_{}_{}", &text[3..10], &text[12..]);
        assert!(ApiKey::parse(&short_prefix).is_err());
        let long_prefix = format!("fv_{}a_{}", &text[3..11], &text[12..54]);
        assert!(ApiKey::parse(&long_prefix).is_err());
        assert!(ApiKey::parse("").is_err());
        assert!(ApiKey::parse("fv_").is_err());
    }

    #[test]
    fn a_key_with_characters_outside_base62_is_refused() {
        let text = ApiKey::generate().expose().to_owned();
        for (index, replacement) in [(5, '-'), (5, '_'), (20, '+'), (54, '/'), (30, 'é')] {
            let presented = replace_char(&text, index, replacement);
            assert!(
                ApiKey::parse(&presented).is_err(),
                "{replacement:?} at {index} was accepted"
            );
        }
        let padded = format!(" {}", &text[1..]);
        assert!(ApiKey::parse(&padded).is_err());
    }

    #[test]
    fn a_key_without_the_separator_is_refused() {
        let text = ApiKey::generate().expose().to_owned();
        assert!(ApiKey::parse(&replace_char(&text, 11, 'a')).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = ApiKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.prefix()));
        assert!(!shown.contains(&key.expose()[12..]));
    }

    #[test]
    fn a_key_matches_its_own_hash_and_no_other() {
        let key = ApiKey::generate();
        let hash = key.hash().unwrap();
        assert!(hash.as_str().starts_with("$2b$10$"));
        assert!(key.matches(Some(&hash)).unwrap());
        assert!(!ApiKey::generate().matches(Some(&hash)).unwrap());
    }

    #[test]
    fn a_key_never_matches_when_there_is_no_stored_hash() {
        prepare_dummy_hash().unwrap();
        assert!(!ApiKey::generate().matches(None).unwrap());
    }

    #[test]
    fn a_key_name_is_trimmed_and_between_1_and_100_characters() {
        assert_eq!(ApiKeyName::parse("  ci  ").unwrap().as_str(), "ci");
        assert!(ApiKeyName::parse("   ").is_err());
        assert!(ApiKeyName::parse(&"é".repeat(100)).is_ok());
        assert!(ApiKeyName::parse(&"é".repeat(101)).is_err());
        assert!(ApiKeyName::parse("line\nbreak").is_err());
    }

    #[test]
    fn an_expiry_must_lie_in_the_future() {
        let now = Utc::now();
        assert!(KeyExpiry::parse(now, now).is_err());
        assert!(KeyExpiry::parse(now - chrono::TimeDelta::seconds(1), now).is_err());
        let later = now + chrono::TimeDelta::seconds(1);
        assert_eq!(KeyExpiry::parse(later, now).unwrap().at(), later);
    }

    #[test]
    fn an_expiry_in_days_counts_whole_days() {
        let now = Utc::now();
        let expiry = KeyExpiry::in_days(30, now).unwrap();
        assert_eq!(expiry.at() - now, chrono::TimeDelta::days(30));
        assert!(KeyExpiry::in_days(0, now).is_err());
    }

    #[test]
    fn checked_keys_vouch_only_for_the_same_key_against_the_same_stored_hash() {
        let checked = CheckedKeys::new();
        let key = ApiKey::generate();
        let stored = KeyHash::from_stored("$2b$10$stored".to_owned());
        assert!(!checked.vouch_for(&key, &stored), "nothing is checked yet");

        checked.remember(&key, &stored);
        assert!(checked.vouch_for(&key, &stored));

        let other_secret = ApiKey::parse(&format!(
            "{TAG}{}_{}",
            key.prefix(),
            "a".repeat(SECRET_CHARS)
        ))
        .unwrap();
        assert_eq!(other_secret.prefix(), key.prefix());
        assert!(!checked.vouch_for(&other_secret, &stored));

        let replaced = KeyHash::from_stored("$2b$10$replaced".to_owned());
        assert!(
            !checked.vouch_for(&key, &replaced),
            "the row holds another hash"
        );
    }
}
