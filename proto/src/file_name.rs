//! File names as users send them, made safe once at the edge: the display name kept in
//! metadata and the storage name used as object key.

use unicode_normalization::UnicodeNormalization;

/// Longest display name kept, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 255;
const MAX_EXTENSION_CHARS: usize = 16;
const MAX_SLUG_CHARS: usize = 100;
const WINDOWS_RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A sanitized display name: no directories, no control, bidi-override or invisible
/// characters, NFC, not a reserved device name, at most [`MAX_NAME_BYTES`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the file name is empty once unsafe characters are removed")]
pub struct EmptyFileName;

impl FileName {
    pub fn sanitize(raw: &str) -> Result<Self, EmptyFileName> {
        // Browsers on some systems send a whole path; keep its last component.
        let last_component = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        // Removed before composing: a character removed between a letter and its accent
        // would otherwise leave the two apart.
        let cleaned: String = last_component
            .chars()
            .filter(|&character| !is_unsafe(character))
            .nfc()
            .collect();
        let trimmed = cleaned
            .trim()
            .trim_end_matches(['.', ' '])
            .trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.chars().all(|character| character == '.') {
            return Err(EmptyFileName);
        }
        // Cut first, so that what is checked is what is kept: a cut can leave nothing but
        // what the trim removes (a dot and spaces), or a reserved device name.
        let name = truncate_keeping_extension(trimmed);
        if name.chars().all(|character| character == '.') {
            return Err(EmptyFileName);
        }
        let stem_lower = name
            .split('.')
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_ascii_lowercase();
        if WINDOWS_RESERVED.contains(&stem_lower.as_str()) {
            return Ok(Self(truncate_keeping_extension(&format!("_{name}"))));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-case extension without its dot, or `""` when the name has none.
    pub fn extension(&self) -> String {
        match self.0.rsplit_once('.') {
            Some((stem, extension))
                if !stem.is_empty()
                    && !extension.is_empty()
                    && extension.chars().count() <= MAX_EXTENSION_CHARS
                    && extension.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                extension.to_ascii_lowercase()
            }
            _ => String::new(),
        }
    }

    /// The object key, `{id}-{slug}.{ext}`: ASCII letters, digits, `-` and `_` only, so
    /// it is safe in every backend, URL and header.
    pub fn storage_name(&self, id: uuid::Uuid) -> String {
        let extension = self.extension();
        let stem = if extension.is_empty() {
            self.0.as_str()
        } else {
            &self.0[..self.0.len() - extension.len() - 1]
        };
        let mut slug = String::new();
        for character in stem.chars() {
            let keep = character.is_ascii_alphanumeric() || character == '_';
            if keep {
                slug.push(character);
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.chars().count() >= MAX_SLUG_CHARS {
                break;
            }
        }
        let slug = slug.trim_matches('-');
        let slug = if slug.is_empty() { "file" } else { slug };
        if extension.is_empty() {
            format!("{id}-{slug}")
        } else {
            format!("{id}-{slug}.{extension}")
        }
    }
}

impl std::fmt::Display for FileName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

fn is_unsafe(character: char) -> bool {
    character.is_control()
        || matches!(character,
            // Bidirectional overrides, embeddings, isolates and marks: they make
            // `evil\u{202E}gpj.exe` display as `evilexe.jpg`.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
            // Zero-width characters and the byte-order mark.
            | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
            // Characters that no file system or header should see in a name.
            | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
}

fn truncate_keeping_extension(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let extension = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() && extension.len() <= MAX_EXTENSION_CHARS => {
            format!(".{extension}")
        }
        _ => String::new(),
    };
    let budget = MAX_NAME_BYTES - extension.len();
    let mut stem = String::new();
    for character in name[..name.len() - extension.len()].chars() {
        if stem.len() + character.len_utf8() > budget {
            break;
        }
        stem.push(character);
    }
    if extension.is_empty() {
        // The cut may have left the name ending in a dot or a space, as sanitize never does.
        stem.truncate(stem.trim_end_matches(['.', ' ']).len());
    }
    stem + &extension
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sanitized(raw: &str) -> String {
        FileName::sanitize(raw).unwrap().as_str().to_owned()
    }

    #[test]
    fn directories_are_dropped() {
        assert_eq!(sanitized("../../etc/passwd"), "passwd");
        assert_eq!(sanitized("C:\\Users\\me\\report.pdf"), "report.pdf");
    }

    #[test]
    fn control_bidi_and_invisible_characters_are_removed() {
        assert_eq!(sanitized("evil\u{202E}gpj.exe"), "evilgpj.exe");
        assert_eq!(sanitized("a\u{0}b\nc\u{200B}.txt"), "abc.txt");
    }

    #[test]
    fn names_are_normalized_to_nfc() {
        assert_eq!(sanitized("cafe\u{301}.txt"), "caf\u{e9}.txt");
        for raw in [
            "cafe\u{200B}\u{301}.txt",
            "cafe\u{202E}\u{301}.txt",
            "cafe\u{7}\u{301}.txt",
        ] {
            assert_eq!(sanitized(raw), "caf\u{e9}.txt", "{raw:?}");
        }
    }

    #[test]
    fn a_long_name_cut_short_does_not_end_in_a_dot_or_a_space() {
        let raw = format!("{}. .{}", "a".repeat(MAX_NAME_BYTES - 3), "b".repeat(40));
        let name = sanitized(&raw);
        assert_eq!(name, "a".repeat(MAX_NAME_BYTES - 3));
        // Nothing left once cut and trimmed: refused, never an empty name.
        let raw = format!(".{}.{}", " ".repeat(300), "b".repeat(40));
        assert_eq!(FileName::sanitize(&raw), Err(EmptyFileName));
        // Nor a reserved device name that only the cut uncovers.
        let raw = format!("con{}x", " ".repeat(300));
        assert_eq!(sanitized(&raw), "_con");
    }

    #[test]
    fn names_that_sanitize_to_nothing_are_refused() {
        for raw in ["", "   ", ".", "..", "/", "\u{202E}", "dir/"] {
            assert_eq!(FileName::sanitize(raw), Err(EmptyFileName), "{raw:?}");
        }
    }

    #[test]
    fn reserved_device_names_are_prefixed() {
        assert_eq!(sanitized("CON.txt"), "_CON.txt");
        assert_eq!(sanitized("console.txt"), "console.txt");
    }

    #[test]
    fn long_names_are_cut_to_255_bytes_keeping_the_extension() {
        let name = sanitized(&format!("{}.png", "\u{e9}".repeat(300)));
        assert!(name.len() <= MAX_NAME_BYTES);
        assert!(name.ends_with(".png"));
    }

    #[test]
    fn the_extension_is_lower_case_and_only_for_a_real_suffix() {
        assert_eq!(FileName::sanitize("Photo.JPG").unwrap().extension(), "jpg");
        assert_eq!(FileName::sanitize(".bashrc").unwrap().extension(), "");
        assert_eq!(FileName::sanitize("README").unwrap().extension(), "");
        assert_eq!(FileName::sanitize("a.tar.gz").unwrap().extension(), "gz");
    }

    #[test]
    fn the_storage_name_is_ascii_and_keyed_by_id() {
        let id = uuid::Uuid::nil();
        let name = FileName::sanitize("Résumé (final) v2.PDF").unwrap();
        assert_eq!(
            name.storage_name(id),
            "00000000-0000-0000-0000-000000000000-R-sum-final-v2.pdf"
        );
        let odd = FileName::sanitize("日本語").unwrap();
        assert_eq!(
            odd.storage_name(id),
            "00000000-0000-0000-0000-000000000000-file"
        );
    }
}
