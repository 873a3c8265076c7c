//! `portcullis`: the binary. Everything lives in the library; this only reports how it ended.

// mimalloc: the gateway allocates small, short-lived buffers on every request, where glibc's
// malloc took about 7% of the proxy path's CPU (bench/gateway.sh). Its v2 line (Cargo.toml):
// v3 handed a page back and took a fresh one for each request of a lone client, which made a
// cached key's check take 1.04 µs instead of 0.75 (cargo bench --bench check).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match server::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
