//! `local-gateway`: the whole chat backend on one local port, with embedded
//! adapters (kept across restarts with `DATA_DIR`), the AWS ones
//! (`CHAT_BACKEND=aws`) or a Redis server (`CHAT_BACKEND=redis`,
//! `REDIS_URL`). OTP mails are printed to the console, or sent over SMTP
//! with `SMTP_URL`.

use std::sync::Arc;

use chat_aws::setup::{self, AwsSettings, Needs};
use chat_core::adapters::{
    ChannelNotifier, ConsoleMailer, FileBlobStore, MemoryBlobStore, MemoryStore, SystemClock,
};
use chat_core::Ctx;
use local_gateway::config::GatewayConfig;
use local_gateway::data_dir::DataDir;
use local_gateway::media::Media;
use local_gateway::smtp::SmtpMailer;
use local_gateway::websocket::LOCAL_STAGE;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-gateway: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let mut config = GatewayConfig::from_env()?;
    let listener = TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let base_url = config
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    // The `@connections` API never answers on a public port.
    let management_listener = match config.management_port {
        Some(port) => Some(TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?),
        None => None,
    };
    let management_base = match &management_listener {
        Some(listener) => format!("http://{}", listener.local_addr()?),
        None => format!("http://{addr}"),
    };
    let backend = std::env::var("CHAT_BACKEND").unwrap_or_else(|_| "embedded".into());
    let data_dir = match std::env::var_os("DATA_DIR") {
        Some(_) if backend != "embedded" => return Err(
            "DATA_DIR keeps the embedded backend's state; unset it with CHAT_BACKEND=aws or redis"
                .into(),
        ),
        Some(path) => Some(DataDir::open(path)?),
        None => None,
    };
    if let (true, Some(dir)) = (config.ephemeral_secret, &data_dir) {
        config.core.jwt_secret = dir.secret()?;
        config.ephemeral_secret = false;
    }
    if config.ephemeral_secret {
        tracing::warn!("JWT_SECRET not set: using a random secret; tokens die with this process");
    }
    let sockets = Arc::new(ChannelNotifier::new(config.queue_limits));
    let mut relay_handle = None;
    let (ctx, media, saver) = match backend.as_str() {
        "embedded" => {
            let embedded = embedded_context(&config, &base_url, sockets.clone(), data_dir)?;
            (
                embedded.ctx,
                Some(Media::Memory(embedded.blobs)),
                embedded.saver,
            )
        }
        "aws" => (aws_context(&config, &management_base).await?, None, None),
        "redis" => {
            let (ctx, media, relay) = redis_context(&config, &base_url, sockets.clone()).await?;
            relay_handle = Some(relay);
            (ctx, Some(media), None)
        }
        other => {
            return Err(format!(
                "CHAT_BACKEND={other:?}: expected \"embedded\", \"aws\" or \"redis\""
            )
            .into())
        }
    };
    if let Some(media) = &media {
        media.clone().keep_swept(std::time::Duration::from_secs(60));
    }
    let sockets = local_gateway::Sockets {
        local: sockets,
        relay: relay_handle,
    };
    let ctx = Arc::new(ctx);
    let app = match management_listener {
        Some(listener) => {
            tracing::info!(%management_base, "@connections API listening (loopback only)");
            tokio::spawn(local_gateway::serve(
                listener,
                local_gateway::management::router(sockets.clone()),
                std::future::pending(),
            ));
            local_gateway::public_app(ctx, sockets, media, config.cors(), config.socket_limits)
        }
        None => local_gateway::app(ctx, sockets, media, config.cors(), config.socket_limits),
    };
    println!("chat local gateway listening on http://{addr}");
    local_gateway::serve_with(listener, app, shutdown_signal(), config.connection_limits).await?;
    if let Some(saver) = saver {
        saver.finish().await?;
    }
    println!("chat local gateway stopped");
    Ok(())
}

/// The embedded run: the context, its pictures (served under `/media/`), and
/// the task keeping them saved in `DATA_DIR` when there is one.
struct Embedded {
    ctx: Ctx,
    blobs: Arc<MemoryBlobStore>,
    saver: Option<Saver>,
}

/// The background save of `DATA_DIR`.
struct Saver {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Saver {
    /// Saves a last time (once the server has answered its last request).
    async fn finish(self) -> Result<(), tokio::task::JoinError> {
        let _ = self.stop.send(());
        self.task.await
    }
}

/// The context on the embedded adapters, restored from `data_dir` if given.
fn embedded_context(
    config: &GatewayConfig,
    base_url: &str,
    sockets: Arc<ChannelNotifier>,
    data_dir: Option<DataDir>,
) -> Result<Embedded, Box<dyn std::error::Error>> {
    let blobs = Arc::new(MemoryBlobStore::new(
        base_url,
        config.core.jwt_secret.expose(),
    ));
    let committer = local_gateway::data_dir::Committer::new();
    let store = Arc::new(match &data_dir {
        Some(dir) => dir.load(&blobs)?.with_commit(committer.clone()),
        None => MemoryStore::new(),
    });
    let saver = data_dir.map(|dir| {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            dir.keep_saved(store.clone(), blobs.clone(), committer, async {
                let _ = stopped.await;
            }),
        );
        Saver { stop, task }
    });
    let ctx = Ctx::with_store(
        &config.core,
        store,
        sockets,
        mailer(config)?,
        blobs.clone(),
        Arc::new(SystemClock),
        Arc::new(chat_core::adapters::UlidGenerator::default()),
    );
    Ok(Embedded { ctx, blobs, saver })
}

/// The context on the AWS adapters (DynamoDB, S3, SES), wherever
/// `AWS_ENDPOINT_URL` points (an emulator, or AWS itself). Events are pushed
/// through the API Gateway management API, by default this gateway's own
/// (at `management_base`).
async fn aws_context(
    config: &GatewayConfig,
    management_base: &str,
) -> Result<Ctx, Box<dyn std::error::Error>> {
    let mut aws = AwsSettings::from_lookup(|name| std::env::var(name).ok())?;
    if aws.websocket_endpoint.is_none() {
        aws.websocket_endpoint = Some(format!("{management_base}/{LOCAL_STAGE}"));
    }
    let sdk = setup::load_sdk_config().await?;
    if std::env::var("CREATE_RESOURCES").is_ok_and(|v| v == "true") {
        setup::create_dev_resources(&sdk, &aws, &config.core.settings.mail_from).await?;
    }
    Ok(setup::context(&config.core, &aws, &sdk, Needs::ALL, None)?)
}

/// The context on a Redis server (`REDIS_URL`, keys under `REDIS_PREFIX`,
/// default `chat`), pushing through the relay that reaches the sockets of
/// every process on that server. Pictures go to `MEDIA_DIR` (a directory
/// the processes share), or stay in this process's memory without it.
async fn redis_context(
    config: &GatewayConfig,
    base_url: &str,
    sockets: Arc<ChannelNotifier>,
) -> Result<(Ctx, Media, Arc<chat_redis::RedisRelay>), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = std::env::var("REDIS_PREFIX").unwrap_or_else(|_| "chat".into());
    let store = chat_redis::RedisStore::connect(&url, &prefix)
        .await
        .map_err(|e| format!("Redis at {url}: {e}"))?;
    let relay = chat_redis::RedisRelay::start(&url, store.clone(), sockets).await?;
    let (media, blobs): (Media, Arc<dyn chat_core::ports::BlobStore>) =
        match std::env::var_os("MEDIA_DIR") {
            Some(dir) => {
                let files = Arc::new(FileBlobStore::open(
                    dir,
                    base_url,
                    config.core.jwt_secret.expose(),
                )?);
                (Media::Files(files.clone()), files)
            }
            None => {
                tracing::warn!("MEDIA_DIR not set: pictures stay in this process's memory");
                let memory = Arc::new(MemoryBlobStore::new(
                    base_url,
                    config.core.jwt_secret.expose(),
                ));
                (Media::Memory(memory.clone()), memory)
            }
        };
    let ctx = Ctx::with_store(
        &config.core,
        Arc::new(store),
        relay.clone(),
        mailer(config)?,
        blobs,
        Arc::new(SystemClock),
        Arc::new(chat_core::adapters::UlidGenerator::default()),
    );
    relay.run(ctx.clone());
    Ok((ctx, media, relay))
}

/// Mail over SMTP when `SMTP_URL` is set, else printed to the console.
fn mailer(
    config: &GatewayConfig,
) -> Result<Arc<dyn chat_core::ports::Mailer>, Box<dyn std::error::Error>> {
    Ok(match std::env::var("SMTP_URL") {
        Ok(url) => Arc::new(SmtpMailer::new(&url, &config.core.settings.mail_from)?),
        Err(_) => Arc::new(ConsoleMailer),
    })
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
