//! Rebuilds the service when a migration is added: `embed_migrations!` reads the
//! directory at compile time, which cargo does not watch on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
