//! `retrain serve`: the webhook bot (a GitHub App). An axum service that verifies,
//! parses and persists deliveries ([`intake`], [`event`], [`store`]), a queue that runs
//! the jobs they create ([`queue`], [`job`]), the bot's own schedule ([`schedule`]) and
//! Prometheus metrics ([`metrics`]). It owns no pipeline logic: jobs run the same
//! `retrain` commands a workflow would, in a child process or on Actions runners.

mod checkout;
pub mod event;
pub mod intake;
pub mod job;
pub mod listen;
pub mod metrics;
pub mod queue;
pub mod schedule;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use tokio::sync::{watch, Notify};

use crate::config::duration::Duration as HumanDuration;
use crate::error::Error;
use job::{Credentials, Executor};
use metrics::Metrics;
use store::Store;

/// Where jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Clone the repository into the data dir and run the pipeline here.
    Embedded,
    /// Start the repository's retrain workflow (`workflow_dispatch`) on Actions runners.
    Dispatch,
    /// Accept and persist deliveries and jobs but run nothing (benchmarks, maintenance);
    /// a later start in another mode runs the queued jobs.
    None,
}

/// `retrain serve` flags. Secrets (webhook secrets, the private key, tokens) come from
/// the environment or files, never from logs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "RETRAIN_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// The GitHub App's id.
    #[arg(long, env = "RETRAIN_APP_ID")]
    pub app_id: Option<u64>,
    /// The GitHub App's private key (PEM).
    #[arg(long, env = "RETRAIN_PRIVATE_KEY_FILE", value_name = "PEM")]
    pub private_key_file: Option<PathBuf>,
    /// Webhook secrets, comma-separated (several while rotating). Prefer the environment variable.
    #[arg(long, env = "RETRAIN_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: String,
    /// Where the database and the repository checkouts live.
    #[arg(long, env = "RETRAIN_DATA_DIR", default_value = "retrain-bot")]
    pub data_dir: PathBuf,
    /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub api_url: String,
    /// Where jobs run.
    #[arg(long, value_enum, default_value = "embedded")]
    pub mode: Mode,
    /// The workflow `--mode dispatch` starts (file name or id).
    #[arg(long, default_value = "retrain.yml")]
    pub workflow: String,
    /// Jobs of different repositories running at once.
    #[arg(long, default_value_t = 2)]
    pub parallel: usize,
    /// Attempts per job before it is marked failed.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Delay before the first retry (doubled for each further one).
    #[arg(long, default_value = "30s")]
    pub retry_backoff: HumanDuration,
    /// How often each tracked repository's schedule trigger is evaluated.
    #[arg(long, default_value = "1h")]
    pub schedule_interval: HumanDuration,
    /// Do not evaluate schedules.
    #[arg(long)]
    pub no_schedule: bool,
    /// On shutdown, how long running jobs may take to finish (the rest resume at the next start).
    #[arg(long, default_value = "30s")]
    pub shutdown_grace: HumanDuration,
    /// How long a client may take to send a request's headers.
    #[arg(long, default_value = "10s")]
    pub header_timeout: HumanDuration,
    /// How long a connection may stay open (request, answer and keep-alive together).
    #[arg(long, default_value = "60s")]
    pub connection_timeout: HumanDuration,
    /// Connections open at once; a new connection beyond it is closed at once.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
}

/// What the HTTP handlers share.
pub struct AppState {
    pub secrets: intake::Secrets,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Wakes the queue when a job was stored.
    pub wake: Arc<Notify>,
    /// Wakes the schedule when repositories were added.
    pub tracked: Arc<Notify>,
}

/// The HTTP service: `POST /webhook`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/webhook", post(intake::webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(intake::MAX_BODY))
        .with_state(state)
}

async fn readyz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    match queue::counts(&s.store).await {
        Ok(_) => (StatusCode::OK, "ready\n".to_string()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

async fn metrics_text(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    let counts = queue::counts(&s.store).await.unwrap_or_default();
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.metrics.render(&counts),
    )
}

fn credentials(args: &ServeArgs) -> Result<Option<Credentials>, Error> {
    match (args.app_id, &args.private_key_file) {
        (Some(id), Some(file)) => {
            let pem = std::fs::read(file).map_err(|e| Error::Io {
                context: format!("cannot read the private key `{}`", file.display()),
                source: e,
            })?;
            let app = crate::forge::app::AppAuth::new(id, &pem).map_err(Error::GitHub)?;
            Ok(Some(Credentials::App(Arc::new(app))))
        }
        (Some(_), None) | (None, Some(_)) => Err(Error::Usage(
            "--app-id and --private-key-file go together".into(),
        )),
        (None, None) => Ok(
            crate::forge::target::env_token(|name| std::env::var(name).ok())
                .map(|t| Credentials::Token(SecretString::from(t))),
        ),
    }
}

/// Runs the bot until SIGINT / SIGTERM.
pub fn serve(args: &ServeArgs) -> Result<(), Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secrets = intake::Secrets::new(&args.webhook_secret);
    if secrets.is_empty() {
        return Err(Error::Usage(
            "no webhook secret: set RETRAIN_WEBHOOK_SECRET (the app's webhook secret)".into(),
        ));
    }
    let credentials = match (credentials(args)?, args.mode) {
        (Some(c), _) => c,
        (None, Mode::None) => Credentials::Token(SecretString::from(String::new())),
        (None, _) => {
            return Err(Error::Usage(
                "no GitHub credentials: give --app-id and --private-key-file (or GITHUB_TOKEN for a single repository)".into(),
            ))
        }
    };
    std::fs::create_dir_all(&args.data_dir).map_err(|e| Error::Io {
        context: format!("cannot create the data dir `{}`", args.data_dir.display()),
        source: e,
    })?;
    let data_dir = args.data_dir.canonicalize().map_err(|e| Error::Io {
        context: format!("data dir `{}`", args.data_dir.display()),
        source: e,
    })?;
    let exe = std::env::current_exe().map_err(|e| Error::Io {
        context: "cannot find the retrain binary".into(),
        source: e,
    })?;
    let store = Store::open(&data_dir).map_err(|e| Error::Usage(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the async runtime".into(),
            source: e,
        })?;
    runtime.block_on(async move {
        let resumed = queue::Queue::resume(&store)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
        if resumed > 0 {
            tracing::info!(jobs = resumed, "resuming jobs interrupted by the last stop");
        }
        let metrics = Arc::new(Metrics::default());
        let executor = Arc::new(Executor {
            mode: args.mode,
            api_url: args.api_url.trim_end_matches('/').to_string(),
            data_dir,
            credentials,
            exe,
            workflow: args.workflow.clone(),
        });
        let queue = queue::Queue::new(
            store.clone(),
            executor,
            metrics.clone(),
            args.parallel,
            args.attempts,
            Duration::from_secs(args.retry_backoff.as_secs()),
        );
        let tracked = Arc::new(Notify::new());
        let state = Arc::new(AppState {
            secrets,
            store: store.clone(),
            metrics,
            wake: queue.wake.clone(),
            tracked: tracked.clone(),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        if args.mode != Mode::None {
            let grace = Duration::from_secs(args.shutdown_grace.as_secs());
            tasks.push(tokio::spawn(queue.clone().run(stop_rx.clone(), grace)));
            if !args.no_schedule {
                tasks.push(tokio::spawn(schedule::run(
                    store.clone(),
                    Duration::from_secs(args.schedule_interval.as_secs()),
                    queue.wake.clone(),
                    tracked,
                    stop_rx.clone(),
                )));
            }
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::Io {
                context: format!("cannot listen on {}", args.listen),
                source: e,
            })?;
        let addr = listener.local_addr().map_err(|e| Error::Io {
            context: "listening address".into(),
            source: e,
        })?;
        tracing::info!(%addr, mode = ?args.mode, "retrain serve: listening");
        eprintln!("retrain serve: listening on http://{addr}");
        let limits = listen::Limits {
            header_timeout: Duration::from_secs(args.header_timeout.as_secs().max(1)),
            connection_timeout: Duration::from_secs(args.connection_timeout.as_secs().max(1)),
            max_connections: args.max_connections,
        };
        listen::serve(listener, router(state), limits, shutdown_signal()).await;
        tracing::info!("stopping: no new deliveries; finishing running jobs");
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
