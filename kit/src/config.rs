//! Helpers for typed configuration. Each service's settings are a clap struct whose
//! fields name their env var and default; secrets may also come from `<NAME>_FILE`.

use anyhow::Context;

/// Reads a secret from `name`, or from the file named by `<name>_FILE` (Kubernetes and
/// Docker secrets), trimming one trailing newline.
pub fn secret_from_env(name: &str) -> anyhow::Result<Option<String>> {
    if let Ok(value) = std::env::var(name) {
        return Ok(Some(value));
    }
    let file_var = format!("{name}_FILE");
    let Ok(path) = std::env::var(&file_var) else {
        return Ok(None);
    };
    let contents = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {file_var} from {path}"))?;
    Ok(Some(contents.trim_end_matches(['\r', '\n']).to_owned()))
}
