//! `portcullis`: the binary. Everything lives in the library; this only reports how it ended.

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
