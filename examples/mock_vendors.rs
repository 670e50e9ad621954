//! Runs the mock vendor server that the tests use, for demos and the quick start:
//! `cargo run --example mock_vendors [-- --port 8787 --latency-ms 0]`.

use roster_mock as mock;
use std::time::Duration;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = arg("--port").unwrap_or_else(|| "8787".into());
    let latency = arg("--latency-ms")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let config = mock::Config {
        latency: Duration::from_millis(latency),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!(
        "mock vendors on http://{} (Act-On under /acton, token {:?}); Ctrl-C stops",
        listener.local_addr()?,
        config.acton_token
    );
    eprintln!("inspect: GET /_mock/requests, GET /_mock/users");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    mock::serve(listener, mock::Mock::new(config), shutdown).await
}
