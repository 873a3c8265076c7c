//! A bare axum hello-world, built with the same toolchain and profile as Portcullis: the
//! baseline of bench/gateway.sh, and the upstream the proxied runs reach.
//! `cargo run --release -p server --example hello -- 127.0.0.1:39001`

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:39001".into());
    let app = axum::Router::new().fallback(|| async { "Hello, world!" });
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("address is free");
    axum::serve(listener, app).await.unwrap();
}
