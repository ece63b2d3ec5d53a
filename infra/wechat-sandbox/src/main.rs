//! `wechat-sandbox --listen 127.0.0.1:PORT [--seed seed.json]`: the WeChat sandbox as a
//! standalone server for the local stack. Logs JSON lines (filter with `RUST_LOG`).

use std::process::ExitCode;
use wechat_sandbox::{Sandbox, Seed};

const USAGE: &str = "usage: wechat-sandbox [--listen 127.0.0.1:8790] [--seed seed.json]";

struct Args {
    listen: String,
    seed: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: std::env::var("WECHAT_SANDBOX_LISTEN").unwrap_or_else(|_| "127.0.0.1:8790".into()),
        seed: std::env::var("WECHAT_SANDBOX_SEED").ok(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--listen" => args.listen = it.next().ok_or("--listen needs an address")?,
            "--seed" => args.seed = Some(it.next().ok_or("--seed needs a file")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let seed = match &args.seed {
        None => Seed::default(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|t| Seed::from_json(&t))
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot load seed");
                return ExitCode::FAILURE;
            }
        },
    };
    let sandbox = Sandbox::new(seed.settings());
    if let Err(e) = seed.apply(&sandbox) {
        tracing::error!(error = %e, "cannot apply seed");
        return ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, listen = %args.listen, "cannot bind");
            return ExitCode::FAILURE;
        }
    };
    let base = listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    tracing::info!(
        base = %base,
        wecom_base = %format!("{base}/wecom"),
        accounts = sandbox.accounts().len(),
        "wechat-sandbox listening"
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "server error");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
