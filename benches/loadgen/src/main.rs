//! `loadgen`: measures the chat backend with its own public API.
//!
//! - `loadgen ws`: WebSocket fan-out (default): M clients in R rooms, S
//!   senders x K messages, paced or in bursts; deliveries counted and timed.
//!   With `--backend redis --processes N`, the same plan runs on one
//!   embedded process and then on N processes sharing a Redis server.
//! - `loadgen rest`: latency and throughput of the hot REST routes.
//! - `loadgen stall`: the gateway's memory while sockets that never read
//!   are sent a burst, with bounded and (for comparison) unbounded queues.
//! - `loadgen startup`: Lambda init time, warm invocation and memory per
//!   function binary, against a hello-world baseline.
//!
//! `ws` and `rest` start the release `local-gateway` binary as a child
//! process (built on first use), so its peak RSS and CPU time are its own.

mod client;
mod gateway;
mod rest_bench;
mod stall_bench;
mod startup;
mod stats;
mod ws_bench;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Load generator and benchmarks for the chat backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// The local-gateway binary (default: the release build beside this one).
    #[arg(long, global = true)]
    gateway_bin: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// WebSocket fan-out benchmark.
    Ws {
        /// WebSocket clients (one user each).
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Rooms the clients are spread over.
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        /// Clients that send.
        #[arg(long, default_value_t = 10)]
        senders: usize,
        /// Messages each sender sends.
        #[arg(long, default_value_t = 100)]
        messages: usize,
        /// Total messages per second; 0 sends in bursts.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// `embedded` (one process) or `redis` (several processes on one
        /// Redis server, run after the same plan on one embedded process).
        #[arg(long, default_value = "embedded")]
        backend: String,
        /// Gateway processes on Redis; clients are spread over them.
        #[arg(long, default_value_t = 2)]
        processes: usize,
        /// A Redis server to use (default: one started for the run).
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// REST benchmark.
    Rest {
        /// Requests in flight.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Requests per endpoint.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Run again with `DATA_DIR` (a fresh temporary directory), where
        /// every acknowledged write waits for the state file's fsync.
        #[arg(long)]
        data_dir: bool,
    },
    /// Memory while sockets that never read are sent a burst.
    Stall {
        /// Sockets that never read (one user's).
        #[arg(long, default_value_t = 20)]
        sockets: usize,
        /// Messages of 4,000 characters in the burst.
        #[arg(long, default_value_t = 4000)]
        messages: usize,
    },
    /// Lambda start-up report.
    Startup {
        /// Directory of cargo-lambda builds (`<dir>/chat-lambda/bootstrap`).
        #[arg(long, default_value = "target/lambda")]
        lambda_dir: PathBuf,
        /// AWS endpoint the functions are configured with. The default
        /// refuses connections: the DynamoDB connection a function opens at
        /// init fails at once, so init is the function's own work.
        #[arg(long, default_value = "http://127.0.0.1:9")]
        aws_endpoint: String,
        /// Runs per binary; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Also trust the system's root certificates (`TLS_NATIVE_ROOTS`),
        /// as the functions did before they trusted the AWS roots only.
        #[arg(long)]
        native_roots: bool,
        /// A live DynamoDB emulator (moto, DynamoDB Local): adds a report of
        /// `verify-email` answering a request that reads the table, whose
        /// first invocation shows what the connection opened at init saves.
        #[arg(long)]
        emulator: Option<String>,
    },
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Cmd::Ws {
        clients: 50,
        rooms: 1,
        senders: 10,
        messages: 100,
        rate: 0.0,
        backend: "embedded".into(),
        processes: 2,
        redis_url: None,
    });
    match command {
        Cmd::Ws {
            clients,
            rooms,
            senders,
            messages,
            rate,
            backend,
            processes,
            redis_url,
        } => {
            let binary = gateway::binary(cli.gateway_bin)?;
            let plan = |setup: String| ws_bench::Plan {
                setup,
                clients,
                rooms,
                senders,
                messages,
                rate,
            };
            let mut reports = Vec::new();
            let embedded = vec![gateway::Gateway::start(&binary)?];
            reports.push(ws_bench::run(&embedded, plan("embedded x1".into())).await?);
            drop(embedded);
            match backend.as_str() {
                "embedded" => {}
                "redis" => {
                    let own = match &redis_url {
                        Some(_) => None,
                        None => Some(gateway::RedisServer::start()?),
                    };
                    let url = redis_url
                        .or_else(|| own.as_ref().map(|r| r.url.clone()))
                        .ok_or("no Redis server")?;
                    let on = gateway::Backend::Redis {
                        url,
                        prefix: format!("loadgen-{}", std::process::id()),
                    };
                    let gateways = (0..processes.max(1))
                        .map(|_| gateway::Gateway::start_on(&binary, &on))
                        .collect::<Result<Vec<_>, _>>()?;
                    let setup = format!("redis x{}", gateways.len());
                    reports.push(ws_bench::run(&gateways, plan(setup)).await?);
                }
                other => return Err(format!("--backend {other}: expected embedded or redis")),
            }
            for report in &reports {
                if cli.json {
                    println!("{}", report.to_json());
                } else {
                    report.print();
                }
            }
            if let Some(bad) = reports.iter().find(|r| r.lost > 0 || r.duplicated > 0) {
                return Err(format!(
                    "{}: {} lost, {} duplicated",
                    bad.plan.setup, bad.lost, bad.duplicated
                ));
            }
        }
        Cmd::Rest {
            concurrency,
            requests,
            data_dir,
        } => {
            let binary = gateway::binary(cli.gateway_bin)?;
            let dir = std::env::temp_dir().join(format!("loadgen-data-{}", std::process::id()));
            let mut setups = vec![("in memory", Vec::new())];
            if data_dir {
                setups.push((
                    "DATA_DIR (fsync per acknowledged write, grouped)",
                    vec![("DATA_DIR", dir.to_string_lossy().into_owned())],
                ));
            }
            for (setup, settings) in setups {
                let gw =
                    gateway::Gateway::start_with(&binary, &gateway::Backend::Embedded, &settings)?;
                let rows = rest_bench::run(&gw, concurrency, requests).await?;
                if cli.json {
                    println!("{}", rest_bench::to_json(&rows, concurrency));
                } else {
                    println!("{setup}:");
                    rest_bench::print(&rows, concurrency);
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        Cmd::Stall { sockets, messages } => {
            let binary = gateway::binary(cli.gateway_bin)?;
            let unbounded = [
                ("WS_QUEUE_FRAMES", "1000000000".to_owned()),
                ("WS_QUEUE_BYTES", "1000000000000".to_owned()),
            ];
            let runs = [
                ("queues bounded: defaults, 4,096 frames / 4 MiB", &[][..]),
                ("queues practically unbounded", &unbounded[..]),
            ];
            for (setup, settings) in runs {
                let report = stall_bench::run(&binary, setup, settings, sockets, messages).await?;
                if cli.json {
                    println!("{}", report.to_json());
                } else {
                    report.print();
                }
            }
        }
        Cmd::Startup {
            lambda_dir,
            aws_endpoint,
            runs,
            native_roots,
            emulator,
        } => {
            let hello = std::env::current_exe()
                .map_err(|e| e.to_string())?
                .with_file_name("hello-lambda");
            let extra_env: Vec<(String, String)> = if native_roots {
                vec![("TLS_NATIVE_ROOTS".into(), "true".into())]
            } else {
                Vec::new()
            };
            let median = |mut rows: Vec<startup::Row>| {
                rows.sort_by_key(|r| r.init);
                rows.swap_remove(rows.len() / 2)
            };
            let runs = runs.max(1);
            let mut samples = Vec::new();
            for _ in 0..runs {
                samples.push(
                    startup::measure(&hello, "hello-lambda", &aws_endpoint, None, &extra_env)
                        .await?,
                );
            }
            let hello_row = median(samples);
            let binaries = startup::binaries(Some(lambda_dir));
            if binaries.is_empty() {
                return Err("no function binaries found: run `bash .ci/build-lambdas` or `cargo build --release -p chat-functions --bin chat-lambda`".into());
            }
            let mut rows = Vec::new();
            for (name, path) in &binaries {
                let mut samples = Vec::new();
                for _ in 0..runs {
                    samples
                        .push(startup::measure(path, name, &aws_endpoint, None, &extra_env).await?);
                }
                rows.push(median(samples));
            }
            let mut io_rows = Vec::new();
            if let Some(endpoint) = &emulator {
                startup::create_table(endpoint, "chat").await?;
                if let Some((name, path)) = binaries.iter().find(|(n, _)| n == "verify-email") {
                    let mut samples = Vec::new();
                    for _ in 0..runs {
                        samples.push(
                            startup::measure(
                                path,
                                name,
                                endpoint,
                                Some(startup::io_event()),
                                &extra_env,
                            )
                            .await?,
                        );
                    }
                    io_rows.push(median(samples));
                }
            }
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "no_io": startup::to_json(&rows, &hello_row),
                        "with_dynamodb": startup::to_json(&io_rows, &hello_row),
                    })
                );
            } else {
                startup::print(
                    "Lambda start-up (local Runtime API stub; invocations answered without I/O)",
                    &rows,
                    &hello_row,
                );
                if !io_rows.is_empty() {
                    println!();
                    startup::print(
                        "With a request that reads DynamoDB on the emulator (the connection opened at init)",
                        &io_rows,
                        &hello_row,
                    );
                }
            }
        }
    }
    Ok(())
}
