//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not know the macro
//! reads those files: without this, a new migration is left out until something else changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
