//! The netprobe server: accepts control connections, checks and authenticates each, and runs
//! accepted tests on dedicated data-plane threads.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use probe_core::Report;

use crate::auth::{self, PreSharedKey, Side};
use crate::conn::Control;
use crate::error::Result;
use crate::guard::Sources;
use crate::limits::ServerLimits;
use crate::protocol::{
    Message, Refusal, TestRequest, MAGIC, MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION,
};
use tokio::io::{AsyncRead, AsyncWrite};

mod run;

use run::run_test;

/// How a server runs.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Caps on what clients may ask.
    pub limits: ServerLimits,
    /// Key clients must prove; `None` serves anyone who can connect.
    pub psk: Option<PreSharedKey>,
    /// CPUs for data threads when the client does not ask for others.
    pub cpus: Vec<u32>,
    /// Stop after the first accepted test (for one-shot tasks).
    pub once: bool,
    /// Run id to put in server reports.
    pub run_id: Option<String>,
    /// With `once`: give up if no test has been accepted this long after start, so a server
    /// whose client never comes (its controller died) does not run forever.
    pub idle_timeout: Option<Duration>,
    /// After the first stop request, how long running tests may take to finish before they
    /// are aborted (`None`: [`DEFAULT_DRAIN`]).
    pub drain: Option<Duration>,
}

/// How long a stopping server lets its running tests finish, unless told otherwise.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

/// Stop requests from code rather than signals: each [`StopSwitch::request`] is one request
/// to [`serve`] (the first starts a drain, the second ends it).
#[derive(Debug, Clone, Default)]
pub struct StopSwitch(Arc<Notify>);

impl StopSwitch {
    /// A switch nobody has pressed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the server to stop (once per call; a press before the server waits is kept).
    pub fn request(&self) {
        self.0.notify_one();
    }

    /// What [`serve`] takes: waits for the next [`StopSwitch::request`].
    pub fn requests(
        &self,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static {
        let notify = self.0.clone();
        move || {
            let notify = notify.clone();
            Box::pin(async move { notify.notified().await })
        }
    }
}

/// Where a server is in its life: serving; stopping (new tests refused, running ones may
/// finish); aborting (running tests are told and ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    Draining,
    Aborting,
}

/// What a server did before it stopped.
#[derive(Debug, Default)]
pub struct ServeSummary {
    /// Tests that ran to the end.
    pub completed: u64,
    /// Connections refused (bad version, key, caps).
    pub refused: u64,
    /// Tests that failed after being accepted.
    pub failed: u64,
    /// The server-side report of the last completed test.
    pub last_report: Option<Report>,
    /// `once` gave up: no client came within the idle timeout.
    pub idle_timed_out: bool,
}

enum Outcome {
    Completed(Box<Report>),
    Refused(String),
    Failed(String),
}

/// Serves until stopped (or, with `once`, after the first accepted test).
///
/// `stop_requests` is called for each stop request to wait for: the first one it resolves
/// starts a drain (new tests are refused with [`Refusal::Stopping`]; running tests may finish
/// within [`ServerConfig::drain`]); the second, or the drain's end, aborts the running tests
/// (each client is told why) and returns. Pass [`crate::shutdown_signal`] to stop on Ctrl-C and
/// SIGTERM, or `std::future::pending` to serve until the process ends.
///
/// # Errors
/// Only if the listener itself fails persistently; per-connection problems are logged to stderr
/// and counted in the summary.
pub async fn serve<S, F>(
    listener: TcpListener,
    config: ServerConfig,
    mut stop_requests: S,
) -> Result<ServeSummary>
where
    S: FnMut() -> F,
    F: Future<Output = ()>,
{
    let drain = config.drain.unwrap_or(DEFAULT_DRAIN);
    crate::sys::map_large_buffers();
    let config = Arc::new(config);
    let (phase_tx, phase) = tokio::sync::watch::channel(Phase::Serving);
    // The memory budget in KiB permits, each test holding its buffers' worth while it runs.
    let memory = Arc::new(Semaphore::new(
        budget_kib(config.limits.memory_budget_bytes) as usize,
    ));
    let tests = Arc::new(Semaphore::new(config.limits.max_concurrent_tests as usize));
    // Handshaking connections are cheap but not free: bound them too.
    let connections = Arc::new(Semaphore::new(
        (config.limits.max_concurrent_tests as usize) * 4 + 4,
    ));
    let first_test_done = Arc::new(Notify::new());
    let sources = Arc::new(std::sync::Mutex::new(Sources::new()));
    // Refusals are answered by short tasks; bound them so a flood cannot grow them without end.
    let refusers = Arc::new(Semaphore::new(64));
    let mut log = RefusalLog::default();
    let mut handlers: JoinSet<Outcome> = JoinSet::new();
    let mut summary = ServeSummary::default();
    let mut backoff = Duration::from_millis(1);
    let idle = async {
        match config.idle_timeout.filter(|_| config.once) {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let mut stop = Box::pin(stop_requests());
    // Armed by the first stop request; until then it lies a year away.
    let drain_end = tokio::time::sleep(Duration::from_secs(365 * 86_400));
    tokio::pin!(drain_end);
    tokio::pin!(idle);
    loop {
        let serving = *phase.borrow() == Phase::Serving;
        tokio::select! {
            _ = &mut stop => {
                if serving && !handlers.is_empty() {
                    eprintln!(
                        "netprobe server: stopping: new tests are refused; {} running connection(s) \
                         get {} s to finish (stop again to end them now)",
                        handlers.len(),
                        drain.as_secs_f64()
                    );
                    phase_tx.send_replace(Phase::Draining);
                    drain_end.as_mut().reset(tokio::time::Instant::now() + drain);
                    stop = Box::pin(stop_requests());
                    continue;
                }
                if !serving {
                    eprintln!("netprobe server: stopped again: ending the running tests now");
                }
                break;
            }
            _ = &mut drain_end, if !serving => {
                eprintln!(
                    "netprobe server: the {} s drain ended: ending the running tests now",
                    drain.as_secs_f64()
                );
                break;
            }
            _ = &mut idle, if handlers.is_empty() && summary.completed + summary.failed == 0 => {
                summary.idle_timed_out = true;
                break;
            }
            _ = first_test_done.notified(), if config.once => break,
            Some(done) = handlers.join_next(), if !handlers.is_empty() => {
                record(&mut summary, done, &mut log);
                if !serving && handlers.is_empty() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => { backoff = Duration::from_millis(1); pair }
                    Err(e) => {
                        // Out of descriptors or a transient error: back off instead of spinning.
                        eprintln!("netprobe server: accept failed: {e}; retrying in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                };
                // One address may hold only a few waiting handshakes, and one that failed key
                // proofs waits: an idle flood or a key guesser cannot take every slot.
                let admitted = sources
                    .lock()
                    .expect("sources lock")
                    .admit(peer.ip(), std::time::Instant::now());
                let decision = match (admitted, connections.clone().try_acquire_owned()) {
                    (admitted, _) if !serving => Err((Refusal::Stopping, admitted.is_ok())),
                    (Err(refusal), _) => Err((refusal, false)),
                    (Ok(()), Err(_)) => Err((
                        Refusal::Crowded {
                            cap: config.limits.max_concurrent_tests * 4 + 4,
                            from_you: String::new(),
                        },
                        true,
                    )),
                    (Ok(()), Ok(permit)) => Ok(permit),
                };
                let refusal = match decision {
                    Ok(permit) => {
                        let (config, tests, done, sources, phase, memory) = (
                            config.clone(),
                            tests.clone(),
                            first_test_done.clone(),
                            sources.clone(),
                            phase.clone(),
                            memory.clone(),
                        );
                        handlers.spawn(async move {
                            let shared = Shared {
                                config: &config,
                                tests: &tests,
                                memory: &memory,
                                first_test_done: &done,
                                sources: &sources,
                            };
                            let outcome = handle(stream, peer, shared, phase).await;
                            drop(permit);
                            outcome
                        });
                        continue;
                    }
                    Err(refusal) => Some((refusal, stream)),
                };
                if let Some(((refusal, admitted), stream)) = refusal {
                    if admitted {
                        sources.lock().expect("sources lock").release(peer.ip());
                    }
                    summary.refused += 1;
                    log.refused(&format!("{peer}: {refusal}"));
                    // Say why, briefly, so the client knows to retry; or just close when even
                    // the answering tasks are all busy.
                    if let Ok(permit) = refusers.clone().try_acquire_owned() {
                        tokio::spawn(async move {
                            refuse_quickly(stream, refusal).await;
                            drop(permit);
                        });
                    }
                }
            }
        }
    }
    // Whatever still runs is told and ended (a no-op when nothing does).
    phase_tx.send_replace(Phase::Aborting);
    while let Some(done) = handlers.join_next().await {
        record(&mut summary, done, &mut log);
    }
    log.flush();
    Ok(summary)
}

/// What every connection's handler shares with the accept loop.
#[derive(Clone, Copy)]
struct Shared<'a> {
    config: &'a ServerConfig,
    tests: &'a Arc<Semaphore>,
    /// The memory budget, in KiB permits ([`budget_kib`]).
    memory: &'a Arc<Semaphore>,
    first_test_done: &'a Notify,
    sources: &'a std::sync::Mutex<Sources>,
}

/// Why a client whose test was ended by a stopping server lost it.
const STOPPED_MID_TEST: &str = "the server was stopped (SIGTERM or Ctrl-C) and its drain time \
     ended before this test finished; run it again against a server that is up";

/// Runs one connection until it ends or the server aborts, and then tells the client why.
async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Shared<'_>,
    phase: tokio::sync::watch::Receiver<Phase>,
) -> Outcome {
    let mut control = Control::new(stream, MAX_CLIENT_FRAME_BYTES);
    let mut aborting = phase.clone();
    let finished = tokio::select! {
        outcome = serve_connection(&mut control, peer, shared, &phase) => Some(outcome),
        _ = aborting.wait_for(|p| *p == Phase::Aborting) => None,
    };
    match finished {
        Some(outcome) => outcome,
        None => {
            // The client may not be reading: say it briefly and go.
            let failed = Message::Failed {
                reason: STOPPED_MID_TEST.to_owned(),
            };
            let _ = tokio::time::timeout(Duration::from_secs(1), control.send(&failed)).await;
            Outcome::Failed(format!("{peer}: ended by the server's stop"))
        }
    }
}

/// Refusal lines on stderr, at most [`RefusalLog::PER_WINDOW`] per window: a flood of garbage
/// connections must not flood the log (and CloudWatch's bill) too.
#[derive(Debug, Default)]
struct RefusalLog {
    window_start: Option<std::time::Instant>,
    shown: u32,
    hidden: u64,
}

impl RefusalLog {
    const PER_WINDOW: u32 = 20;
    const WINDOW: Duration = Duration::from_secs(10);

    fn refused(&mut self, why: &str) {
        let now = std::time::Instant::now();
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= Self::WINDOW)
        {
            self.flush();
            self.window_start = Some(now);
            self.shown = 0;
        }
        if self.shown < Self::PER_WINDOW {
            self.shown += 1;
            eprintln!("netprobe server: refused: {why}");
        } else {
            self.hidden += 1;
        }
    }

    fn flush(&mut self) {
        if self.hidden > 0 {
            eprintln!(
                "netprobe server: {} more refusals in the last {} s not shown",
                self.hidden,
                Self::WINDOW.as_secs()
            );
            self.hidden = 0;
        }
    }
}

/// Sends a refusal to a connection that will not be served, within half a second, and closes.
async fn refuse_quickly(stream: TcpStream, refusal: Refusal) {
    let mut control = Control::new(stream, MAX_CLIENT_FRAME_BYTES);
    let _ = tokio::time::timeout(
        Duration::from_millis(500),
        control.send(&Message::Refused(refusal)),
    )
    .await;
}

fn record(
    summary: &mut ServeSummary,
    done: std::result::Result<Outcome, tokio::task::JoinError>,
    log: &mut RefusalLog,
) {
    match done {
        Ok(Outcome::Completed(report)) => {
            summary.completed += 1;
            summary.last_report = Some(*report);
        }
        Ok(Outcome::Refused(why)) => {
            summary.refused += 1;
            log.refused(&why);
        }
        Ok(Outcome::Failed(why)) => {
            summary.failed += 1;
            eprintln!("netprobe server: test failed: {why}");
        }
        Err(e) => {
            summary.failed += 1;
            eprintln!("netprobe server: handler crashed: {e}");
        }
    }
}

async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut Control<S>,
    refusal: Refusal,
) -> Outcome {
    let why = format!("{}: {refusal}", control.peer());
    let _ = control.send(&Message::Refused(refusal)).await;
    Outcome::Refused(why)
}

async fn serve_connection(
    control: &mut Control,
    peer: SocketAddr,
    shared: Shared<'_>,
    phase: &tokio::sync::watch::Receiver<Phase>,
) -> Outcome {
    let Shared {
        config,
        tests,
        memory,
        first_test_done,
        sources,
    } = shared;
    let timeout = config.limits.control_timeout;
    let shaken = handshake(control, config, timeout).await;
    {
        let mut sources = sources.lock().expect("sources lock");
        match &shaken {
            Ok(Err(Refusal::AuthFailed)) => {
                sources.failed_proof(peer.ip(), std::time::Instant::now());
            }
            Ok(Ok(_)) if config.psk.is_some() => sources.proved(peer.ip()),
            _ => {}
        }
        // The handshake is over: this connection no longer counts as waiting.
        sources.release(peer.ip());
    }
    let request = match shaken {
        Ok(Ok(request)) => request,
        Ok(Err(refusal)) => return refuse(control, refusal).await,
        Err(e) => return Outcome::Refused(format!("{peer}: {}", e.describe())),
    };
    if *phase.borrow() != Phase::Serving {
        return refuse(control, Refusal::Stopping).await;
    }
    if let Err(refusal) = config.limits.check(&request) {
        return refuse(control, refusal).await;
    }
    let Ok(_permit) = tests.clone().try_acquire_owned() else {
        let cap = config.limits.max_concurrent_tests;
        return refuse(control, Refusal::Busy { cap }).await;
    };
    let needed_bytes = request.server_buffer_bytes();
    let Ok(buffers) = memory
        .clone()
        .try_acquire_many_owned(budget_kib(needed_bytes))
    else {
        let refusal = Refusal::Memory {
            needed_bytes,
            free_bytes: memory.available_permits() as u64 * 1024,
            budget_bytes: config.limits.memory_budget_bytes,
        };
        return refuse(control, refusal).await;
    };
    let outcome = match run_test(control, config, request).await {
        Ok(report) => Outcome::Completed(Box::new(report)),
        Err(e) => {
            let _ = control
                .send(&Message::Failed {
                    reason: e.describe(),
                })
                .await;
            Outcome::Failed(format!("{peer}: {}", e.describe()))
        }
    };
    drop(buffers);
    crate::sys::return_freed_memory();
    if config.once {
        first_test_done.notify_one();
    }
    outcome
}

/// Bytes in whole KiB (rounded up), as semaphore permits: 4 TiB at most.
fn budget_kib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// How long a new connection may take to say hello.
pub(crate) const HELLO_TIMEOUT: Duration = Duration::from_secs(2);

/// Version check and key proof; returns the client's request, or a refusal to send.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut Control<S>,
    config: &ServerConfig,
    timeout: Duration,
) -> Result<std::result::Result<TestRequest, Refusal>> {
    // The hello comes at once from a real client: an idle connection is not kept long.
    let (client_nonce, version) = match control.recv(timeout.min(HELLO_TIMEOUT), "hello").await? {
        Message::ClientHello {
            magic,
            version,
            nonce,
        } => {
            if magic != MAGIC {
                return Ok(Err(Refusal::BadMagic));
            }
            (nonce, version)
        }
        _ => return Ok(Err(Refusal::BadMagic)),
    };
    if version != PROTOCOL_VERSION {
        return Ok(Err(Refusal::UnsupportedVersion {
            client: version,
            server: PROTOCOL_VERSION,
        }));
    }
    let server_nonce = auth::nonce();
    control
        .send(&Message::ServerHello {
            version: PROTOCOL_VERSION,
            nonce: server_nonce,
            auth_required: config.psk.is_some(),
        })
        .await?;
    let mut next = control.recv(timeout, "key proof or request").await?;
    if let Some(key) = &config.psk {
        let Message::ClientProof { mac } = next else {
            return Ok(Err(Refusal::AuthRequired));
        };
        if !key.verify(Side::Client, &client_nonce, &server_nonce, &mac) {
            return Ok(Err(Refusal::AuthFailed));
        }
        let mac = key.prove(Side::Server, &client_nonce, &server_nonce);
        control.send(&Message::ServerProof { mac }).await?;
        next = control.recv(timeout, "request").await?;
    }
    match next {
        Message::Request(request) => Ok(Ok(request)),
        other => Ok(Err(Refusal::Invalid(format!(
            "expected a test request, got {}",
            message_name(&other)
        )))),
    }
}

fn message_name(m: &Message) -> &'static str {
    match m {
        Message::ClientHello { .. } => "ClientHello",
        Message::ServerHello { .. } => "ServerHello",
        Message::ClientProof { .. } => "ClientProof",
        Message::ServerProof { .. } => "ServerProof",
        Message::Request(_) => "Request",
        Message::Accepted { .. } => "Accepted",
        Message::Refused(_) => "Refused",
        Message::Start => "Start",
        Message::Result(_) => "Result",
        Message::Failed { .. } => "Failed",
        Message::Stop { .. } => "Stop",
        Message::Reburst { .. } => "Reburst",
        Message::RefillEnd => "RefillEnd",
    }
}
