//! A TCP proxy in front of moto that can take "AWS" away for a while: during an outage every
//! open connection is reset and new ones are dropped as soon as they arrive, as when an
//! endpoint restarts or the network between Lambda and AWS fails. moto keeps its state, as
//! DynamoDB and SQS do across such an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A proxy to one AWS stand-in endpoint.
#[derive(Debug, Clone)]
pub struct OutageProxy {
    url: String,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    target: String,
    down_until: std::sync::Mutex<Option<Instant>>,
    /// Bumped at the start of each outage: live connections watch it and drop.
    outage: watch::Sender<u64>,
    dropped: AtomicU64,
    reset: AtomicU64,
}

impl State {
    fn is_down(&self) -> bool {
        let mut until = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }
}

impl OutageProxy {
    /// Listens on a free loopback port and forwards to `target` (`http://host:port`).
    pub async fn start(target: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let state = Arc::new(State {
            target,
            down_until: std::sync::Mutex::new(None),
            outage: watch::channel(0).0,
            dropped: AtomicU64::new(0),
            reset: AtomicU64::new(0),
        });
        tokio::spawn(accept(listener, state.clone()));
        Ok(Self { url, state })
    }

    /// The proxy's URL, to use as the AWS endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts an outage of `length`: open connections are reset now, new ones are dropped
    /// until it ends.
    pub fn cut(&self, length: Duration) {
        *self
            .state
            .down_until
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + length);
        self.state.outage.send_modify(|n| *n += 1);
    }

    /// Connections the outages broke: (reset while open, dropped on arrival).
    pub fn casualties(&self) -> (u64, u64) {
        (
            self.state.reset.load(Ordering::Relaxed),
            self.state.dropped.load(Ordering::Relaxed),
        )
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    while let Ok((client, _)) = listener.accept().await {
        if state.is_down() {
            state.dropped.fetch_add(1, Ordering::Relaxed);
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, state.clone()));
    }
}

async fn forward(mut client: TcpStream, state: Arc<State>) {
    let Ok(mut upstream) = TcpStream::connect(&state.target).await else {
        return;
    };
    let mut outage = state.outage.subscribe();
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        // Dropping both streams closes the connection under the request in flight.
        _ = outage.changed() => {
            state.reset.fetch_add(1, Ordering::Relaxed);
        }
    }
}
