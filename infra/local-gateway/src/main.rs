//! `livenotify-local`: provisions the stand-in AWS resources and runs the gateway until Ctrl-C.
//!
//! Started by `make dev` (see README), which first starts moto and sets `AWS_ENDPOINT_URL`.

use livenotify::aws::AwsClients;
use livenotify::config::{ConfigError, Env};
use local_gateway::WechatBases;
use local_gateway::provision::{self, ResourceNames};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    livenotify::telemetry::init();
    let env = Env::process();
    if env.optional("AWS_ENDPOINT_URL").is_none() {
        return Err(ConfigError::Missing {
            name: "AWS_ENDPOINT_URL",
            purpose: "the local AWS stand-in (moto)",
        }
        .into());
    }
    let listen = env.or("LISTEN", "127.0.0.1:8080");
    let clients = AwsClients::from_env().await;
    let mut names = ResourceNames::local();
    names.table = env.or("TABLE_NAME", &names.table);
    let resources = provision::provision(&clients, &names).await?;
    let wechat = WechatBases {
        api: env.url_or("WECHAT_API_BASE", "https://api.weixin.qq.com")?,
        wecom: env.url_or("WECOM_API_BASE", "https://qyapi.weixin.qq.com")?,
        open: env.url_or("WECHAT_OPEN_BASE", "https://open.weixin.qq.com")?,
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let public_base_url = env.url_or(
        "PUBLIC_BASE_URL",
        &format!("http://{}", listener.local_addr()?),
    )?;
    let mut config = local_gateway::local_config(&resources, &wechat, &public_base_url);
    if let Some(key) = env.optional("SECRETS_KEY") {
        config.secrets_key = key;
    }
    if let Some(key) = env.optional("SIGNING_KEY") {
        config.signing_key = key;
    }
    // The first super admin, so the console can be used at once (local stack only).
    let admin_username = env.or("ADMIN_USERNAME", "admin");
    let admin_password = env.or("ADMIN_PASSWORD", "livenotify-local");
    let admin_store = livenotify::store::Store::from_config(&clients, &config)?;
    admin_api::bootstrap::ensure_super_admin(&admin_store, &admin_username, &admin_password)
        .await?;
    let gateway =
        local_gateway::start(clients.clone(), config.clone(), resources.clone(), listener).await?;
    let url = gateway.url();
    println!("livenotify local stack is up");
    println!("  admin API        {url}/api   (health: {url}/api/health)");
    println!("  admin console    {url}/admin");
    println!("  WeChat callbacks {url}/wechat/<appid>");
    println!("  table {}, bucket {}", resources.table, resources.bucket);
    println!(
        "  queues {} | {} | {}",
        resources.push.url, resources.qr.url, resources.sync.url
    );
    // With the sandbox (make dev), demo accounts make the stack usable at once.
    if let Some(sandbox_url) = env.optional("SANDBOX_URL") {
        let store = livenotify::store::Store::from_config(&clients, &config)?;
        match local_gateway::demo::seed(&store, &sandbox_url, &public_base_url).await {
            Ok(ids) => println!(
                "  demo accounts    {} (sandbox {sandbox_url}, {} followers each)",
                ids.iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                local_gateway::demo::DEMO_FOLLOWERS
            ),
            Err(e) => eprintln!("  demo accounts could not be created: {e}"),
        }
    }
    println!(
        "  admin login      curl -s -X POST {url}/api/auth/login -H 'content-type: application/json' \\\n                     -d '{{\"username\":\"{admin_username}\",\"password\":\"{admin_password}\"}}'"
    );
    println!(
        "                   (super admin from ADMIN_USERNAME / ADMIN_PASSWORD; these defaults are for local use only)"
    );
    println!("  API document     {url}/api/openapi.json");
    println!("Ctrl-C stops everything.");
    tokio::signal::ctrl_c().await?;
    gateway.shutdown().await;
    Ok(())
}
