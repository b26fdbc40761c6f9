//! `local-gateway`: the whole chat backend on one local port, with embedded
//! adapters. OTP mails are printed to the console.

use std::sync::Arc;

use chat_core::adapters::{
    ChannelNotifier, ConsoleMailer, MemoryBlobStore, MemoryStore, SystemClock,
};
use chat_core::Ctx;
use local_gateway::config::GatewayConfig;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let config = GatewayConfig::from_env()?;
    let listener = TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let base_url = config
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    if config.ephemeral_secret {
        tracing::warn!("JWT_SECRET not set: using a random secret; tokens die with this process");
    }
    let blobs = Arc::new(MemoryBlobStore::new(&base_url));
    let sockets = Arc::new(ChannelNotifier::default());
    let ctx = Ctx::with_store(
        &config.core,
        Arc::new(MemoryStore::new()),
        sockets.clone(),
        Arc::new(ConsoleMailer),
        blobs.clone(),
        Arc::new(SystemClock),
    );
    let app = local_gateway::app(Arc::new(ctx), sockets, Some(blobs), config.cors());
    println!("chat local gateway listening on http://{addr}");
    local_gateway::serve(listener, app, shutdown_signal()).await?;
    println!("chat local gateway stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
