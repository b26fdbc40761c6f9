//! Writes the OpenAPI description generated from the code to
//! `docs/openapi.yaml` (or to the path given).
//!
//! `cargo run -p chat-core --example openapi [path]`

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml"),
        PathBuf::from,
    );
    std::fs::write(&path, chat_core::http::openapi::yaml())?;
    println!("wrote {}", path.display());
    Ok(())
}
