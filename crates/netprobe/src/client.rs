//! The netprobe client: agrees a test with a server, runs its side, and reports both.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use probe_core::Report;
use tokio::net::TcpStream;

use crate::auth::{self, PreSharedKey, Side};
use crate::bucket_sharing;
use crate::conn::Control;
use crate::data::{Window, SEND_TAIL};
use crate::error::{NetError, Result};
use crate::loaded_latency;
use crate::protocol::{
    Message, SideResult, TestKind, TestRequest, MAGIC, MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION,
};
use crate::refill;
use crate::report::{build_report, ReportContext};
use crate::session::{self, DataSockets, End, SideOutput};
use crate::until;
use tokio::io::{AsyncRead, AsyncWrite};

/// Default control port (iperf3 uses 5201; ours differs so both can run side by side).
pub const DEFAULT_PORT: u16 = probe_core::contract::NETPROBE_PORT;

/// A client run: where, what, and how.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `HOST` or `HOST:PORT` (default port [`DEFAULT_PORT`]).
    pub server: String,
    /// The test.
    pub request: TestRequest,
    /// Key to prove; required when the server has one.
    pub psk: Option<PreSharedKey>,
    /// CPUs for the client's data threads.
    pub cpus: Vec<u32>,
    /// Run id to put in the report.
    pub run_id: Option<String>,
    /// How long to wait for each control message before the test.
    pub control_timeout: Duration,
    /// How long to keep retrying a refused or unanswered connect: a server task can be
    /// RUNNING a moment before its process listens.
    pub connect_retry: Duration,
    /// Source address of the control connection (a multi-homed host; tests play other hosts
    /// from other loopback addresses). `None`: the kernel's choice.
    pub bind_source: Option<std::net::IpAddr>,
}

impl ClientConfig {
    /// A client for `server` running `request`, unauthenticated, unpinned.
    pub fn new(server: impl Into<String>, request: TestRequest) -> Self {
        Self {
            server: server.into(),
            request,
            psk: None,
            cpus: Vec::new(),
            run_id: None,
            control_timeout: Duration::from_secs(10),
            connect_retry: Duration::from_secs(15),
            bind_source: None,
        }
    }
}

async fn resolve(server: &str) -> Result<SocketAddr> {
    let with_port = if server.parse::<SocketAddr>().is_ok() || has_port(server) {
        server.to_owned()
    } else if server.contains(':') && !server.starts_with('[') {
        format!("[{server}]:{DEFAULT_PORT}") // bare IPv6
    } else {
        format!("{server}:{DEFAULT_PORT}")
    };
    let found: Vec<SocketAddr> = match tokio::net::lookup_host(with_port.clone()).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            return Err(NetError::Connect {
                addr: with_port,
                source: e,
            })
        }
    };
    found.first().copied().ok_or(NetError::Connect {
        addr: with_port,
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
    })
}

fn has_port(server: &str) -> bool {
    match server.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}

/// Runs one test against a server and returns the client's report, which includes what the
/// server measured (the receiver's counts are the throughput).
///
/// # Errors
/// Connection, protocol, refusal (the server's reason, naming the cap) and data-plane errors.
pub async fn run_test(config: &ClientConfig) -> Result<Report> {
    // Read before the test, so nothing between a refill test's phases waits on it.
    let host = probe_core::HostFacts::collect();
    let server = resolve(&config.server).await?;
    let timeout = config.control_timeout;
    // A full server (its test cap, or its handshake slots) says so; retry with backoff within
    // the connect budget, as for a server that is not listening yet.
    let start = tokio::time::Instant::now();
    let mut backoff = Duration::from_millis(100);
    let (mut control, data_port, cookie) = loop {
        let attempt = async {
            let left = config.connect_retry.saturating_sub(start.elapsed());
            let stream = connect(server, config.bind_source, left).await?;
            let mut control = Control::new(stream, MAX_SERVER_FRAME_BYTES);
            handshake(&mut control, config, server, timeout).await?;
            control
                .send(&Message::Request(config.request.clone()))
                .await?;
            match control.recv(timeout, "the server's answer").await? {
                Message::Accepted { data_port, cookie } => Ok((control, data_port, cookie)),
                Message::Refused(r) => Err(NetError::Refused(r)),
                other => Err(unexpected(&control, "Accepted", &other)),
            }
        }
        .await;
        let wait = match &attempt {
            Err(NetError::Refused(r)) if r.is_transient() => backoff,
            Err(NetError::Refused(probe_core::contract::Refusal::SlowDown { retry_after_ms })) => {
                Duration::from_millis(*retry_after_ms)
            }
            _ => break attempt?,
        };
        if start.elapsed() + wait > config.connect_retry {
            attempt?;
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    };
    let data_addr = SocketAddr::new(server.ip(), data_port);
    let req = &config.request;
    let started_at = SystemTime::now();
    let session = Session {
        config,
        data_addr,
        cookie,
        epoch: Instant::now(),
        udp: udp_socket(req, data_addr)?,
    };
    let drain = session
        .run_phase(&mut control, req, until::Role::of(req, End::Client))
        .await?;
    let report_of = |request: &TestRequest, phase: &Phase, started_at: SystemTime| {
        build_report(&ReportContext {
            end: End::Client,
            request,
            local: &phase.local,
            remote: Some(&phase.remote),
            started_at,
            run_id: config.run_id.clone(),
            peer: server.to_string(),
            host: host.clone(),
        })
    };
    let mut report = report_of(req, &drain, started_at);
    if req.latency_under_load.is_some() {
        let rtt = match (&drain.local.probe_rtt_ns, &drain.local.probe_error) {
            (Some(rtt), _) => Ok(rtt.as_slice()),
            (None, Some(why)) => Err(why.as_str()),
            (None, None) => Err("no round trips were recorded"),
        };
        let sender = if loaded_latency::client_sends(req) {
            &drain.local.side
        } else {
            &drain.remote
        };
        loaded_latency::add(&mut report, req, rtt, sender);
    }
    if !req.refill_idle_ms.is_empty() {
        let rebursts = session.rebursts(&mut control, &report).await?;
        let end = until::receiver(req);
        let sides: Vec<&SideResult> = rebursts.iter().map(|p| p.receiver(end)).collect();
        report.metrics.refill = refill::analyze(req, &report, drain.receiver(end), &sides);
    }
    if req.shared_bucket {
        // At once: every moment between the phases refills the bucket the drain emptied.
        let other = bucket_sharing::other_direction(req);
        let at = SystemTime::now();
        let phase = session
            .run_phase(&mut control, &other, until::Role::of(&other, End::Client))
            .await?;
        bucket_sharing::conclude(req, &mut report, report_of(&other, &phase, at));
    }
    Ok(report)
}

/// A UDP test's socket, bound and connected once for every phase of its session (a reverse
/// stream's server sends only to the address it first heard from); `None` for TCP tests.
fn udp_socket(req: &TestRequest, data_addr: SocketAddr) -> Result<Option<std::net::UdpSocket>> {
    if !req.kind.is_udp() {
        return Ok(None);
    }
    let local = SocketAddr::new(unspecified_like(data_addr), 0);
    let bound = session::bind_udp(local, &req.socket).and_then(|socket| {
        socket.connect(data_addr)?;
        Ok(socket)
    });
    bound
        .map(Some)
        .map_err(|e| NetError::io(format!("opening a UDP data socket to {data_addr}"), e))
}

/// What both sides measured in one phase of a test (the whole of it, unless it is a refill
/// test).
struct Phase {
    local: SideOutput,
    remote: SideResult,
}

impl Phase {
    /// What the receiving `end` counted.
    fn receiver(&self, end: End) -> &SideResult {
        match end {
            End::Client => &self.local.side,
            End::Server => &self.remote,
        }
    }
}

/// An agreed test: the server's data port, the cookie, when this side's first phase began,
/// and a UDP test's socket.
struct Session<'a> {
    config: &'a ClientConfig,
    data_addr: SocketAddr,
    cookie: [u8; 16],
    epoch: Instant,
    udp: Option<std::net::UdpSocket>,
}

impl Session<'_> {
    /// Refill test: after the drain, one re-burst per idle time (or none, telling the server,
    /// when the drain found no bucket to refill).
    async fn rebursts<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        control: &mut Control<S>,
        drained: &Report,
    ) -> Result<Vec<Phase>> {
        let req = &self.config.request;
        let (Some(below), Some(hold)) = (refill::quiet_below(drained), req.baseline_hold_ms) else {
            control.send(&Message::RefillEnd).await?;
            return Ok(Vec::new());
        };
        let rule = until::StopRule::Quiet {
            hold: Duration::from_millis(hold),
            below_bits_per_sec: below,
        };
        let mut phases = Vec::with_capacity(req.refill_idle_ms.len());
        for idle in &req.refill_idle_ms {
            control
                .send(&Message::Reburst {
                    quiet_below_bits_per_sec: below,
                })
                .await?;
            // Both sides' data of the phase before is in: from here the link is quiet.
            tokio::time::sleep(Duration::from_millis(*idle)).await;
            let role = until::Role::with_rule(req, End::Client, rule);
            phases.push(self.run_phase(control, req, role).await?);
        }
        Ok(phases)
    }

    /// Opens the data connections of `request` (the test's, or a phase's own), starts the
    /// clock and runs this side's data plane in `role` until both sides are done; returns both
    /// sides' measurements.
    async fn run_phase<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        control: &mut Control<S>,
        request: &TestRequest,
        role: until::Role,
    ) -> Result<Phase> {
        let (config, data_addr, cookie) = (self.config, self.data_addr, self.cookie);
        let req = request.clone();
        let udp = self.udp.as_ref().map(std::net::UdpSocket::try_clone);
        let sockets = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            // Latency under load: the probes' own flow, to the data port's number over UDP.
            let load_probe = match req.latency_under_load {
                Some(_) => {
                    let local = SocketAddr::new(unspecified_like(data_addr), 0);
                    let socket = std::net::UdpSocket::bind(local)?;
                    socket.connect(data_addr)?;
                    Some(socket)
                }
                None => None,
            };
            let data = match udp {
                Some(socket) => DataSockets::Udp(socket?),
                None if req.kind == TestKind::TcpCrr => DataSockets::CrrClient(data_addr),
                None => DataSockets::Tcp(session::connect_streams(data_addr, &req, &cookie)?),
            };
            Ok((data, load_probe))
        })
        .await
        .map_err(|e| NetError::io("data setup", std::io::Error::other(e)))?
        .map_err(|e| NetError::io(format!("opening data connections to {data_addr}"), e))?;

        control.send(&Message::Start).await?;
        let window = (if role == until::Role::Neither {
            Window::fixed
        } else {
            Window::live
        })(
            Instant::now(),
            Duration::from_millis(request.omit_ms),
            Duration::from_millis(request.duration_ms),
            Duration::from_millis(request.interval_ms),
        )
        .in_session(self.epoch);
        let (req, cpus, data_window) = (request.clone(), config.cpus.clone(), window.clone());
        let data = tokio::task::spawn_blocking(move || {
            let (sockets, load_probe) = sockets;
            session::run_side(
                End::Client,
                &req,
                sockets,
                load_probe,
                data_window,
                &cookie,
                &cpus,
            )
        });
        // The server finishes a few seconds after its window at most; wait a little longer.
        let result_wait = SEND_TAIL + Duration::from_secs(15);
        let (done, early) = until::await_data(
            control,
            &window,
            role,
            data,
            true,
            window.omit + window.duration + result_wait,
        )
        .await?;
        let local = match done.unwrap_or_else(|e| Err(std::io::Error::other(e))) {
            Ok(local) => local,
            Err(data_error) => {
                // The server usually knows why (it was stopped, or its side failed): ask
                // briefly, so one cause gives one message whatever the test kind.
                let said = match early {
                    Some(message) => Some(message),
                    None => control
                        .recv(SERVER_REASON_WAIT, "the server's reason")
                        .await
                        .ok(),
                };
                return Err(match said {
                    Some(Message::Failed { reason }) => NetError::Protocol {
                        peer: control.peer().to_owned(),
                        reason: format!("the server's side of the test failed: {reason}"),
                    },
                    _ => NetError::io(
                        format!(
                            "the test's data connections to {data_addr} broke mid-test and the \
                             server gave no reason (it may have crashed or been killed)"
                        ),
                        data_error,
                    ),
                });
            }
        };
        let answer = match early {
            Some(message) => message,
            None => control.recv(result_wait, "the server's result").await?,
        };
        let remote = match answer {
            Message::Result(r) => r,
            Message::Failed { reason } => {
                return Err(NetError::Protocol {
                    peer: control.peer().to_owned(),
                    reason: format!("the server's side of the test failed: {reason}"),
                })
            }
            other => return Err(unexpected(control, "Result", &other)),
        };
        Ok(Phase { local, remote })
    }
}

/// How long a client whose data connections broke waits for the server to say why.
const SERVER_REASON_WAIT: Duration = Duration::from_secs(1);

/// Connects, retrying refused and timed-out attempts with backoff until `retry_for` has passed.
async fn connect(
    server: SocketAddr,
    source: Option<std::net::IpAddr>,
    retry_for: Duration,
) -> Result<TcpStream> {
    let start = tokio::time::Instant::now();
    let mut backoff = Duration::from_millis(100);
    let attempt = || async move {
        match source {
            None => TcpStream::connect(server).await,
            Some(ip) => {
                let socket = if ip.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(server).await
            }
        }
    };
    loop {
        let error = match tokio::time::timeout(Duration::from_secs(5), attempt()).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => NetError::Connect {
                addr: server.to_string(),
                source: e,
            },
            Err(_) => NetError::Timeout {
                what: format!("connecting to {server}"),
                secs: 5,
            },
        };
        if start.elapsed() + backoff > retry_for {
            return Err(error);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

fn unspecified_like(addr: SocketAddr) -> std::net::IpAddr {
    match addr {
        SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    }
}

fn unexpected<S: AsyncRead + AsyncWrite + Unpin>(
    control: &Control<S>,
    wanted: &str,
    got: &Message,
) -> NetError {
    NetError::Protocol {
        peer: control.peer().to_owned(),
        reason: format!("expected {wanted}, got {got:?}"),
    }
}

pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut Control<S>,
    config: &ClientConfig,
    server: SocketAddr,
    timeout: Duration,
) -> Result<()> {
    let client_nonce = auth::nonce();
    control
        .send(&Message::ClientHello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            nonce: client_nonce,
        })
        .await?;
    let (server_nonce, auth_required) = match control.recv(timeout, "the server's hello").await? {
        Message::ServerHello {
            nonce,
            auth_required,
            ..
        } => (nonce, auth_required),
        Message::Refused(r) => return Err(NetError::Refused(r)),
        other => return Err(unexpected(control, "ServerHello", &other)),
    };
    match (&config.psk, auth_required) {
        (None, false) => Ok(()),
        (None, true) => Err(NetError::KeyRequired(server)),
        (Some(_), false) => Err(NetError::ServerUnauthenticated(server)),
        (Some(key), true) => {
            let mac = key.prove(Side::Client, &client_nonce, &server_nonce);
            control.send(&Message::ClientProof { mac }).await?;
            match control.recv(timeout, "the server's key proof").await? {
                Message::ServerProof { mac } => {
                    if key.verify(Side::Server, &client_nonce, &server_nonce, &mac) {
                        Ok(())
                    } else {
                        Err(NetError::ServerAuth(server))
                    }
                }
                Message::Refused(r) => Err(NetError::Refused(r)),
                other => Err(unexpected(control, "ServerProof", &other)),
            }
        }
    }
}
