//! One accepted test on the server: its data sockets, then each phase (one; for a refill test
//! the drain and every re-burst the client asks for; for a shared-bucket test the drain and
//! then the other direction), each answered with this side's result.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use probe_core::Report;

use super::{message_name, ServerConfig};
use crate::bucket_sharing;
use crate::conn::Control;
use crate::data::Window;
use crate::error::{NetError, Result};
use crate::protocol::{Message, SideResult, TestKind, TestRequest};
use crate::refill;
use crate::report::{build_report, ReportContext};
use crate::session::{self, DataSockets, End, SideOutput};
use crate::until;

fn io(what: &str) -> impl FnOnce(std::io::Error) -> NetError {
    let what = what.to_owned();
    move |e: std::io::Error| NetError::io(what, e)
}

/// Runs an accepted request to its end and returns this side's report.
pub(super) async fn run_test(
    control: &mut Control,
    config: &ServerConfig,
    request: TestRequest,
) -> Result<Report> {
    let local_ip = control
        .stream()
        .local_addr()
        .map_err(|e| NetError::io("reading the control socket's address", e))?
        .ip();
    let cookie: [u8; 16] = rand::random();
    let request = Arc::new(request);
    // A shared-bucket test's second phase runs on the same UDP socket (the client keeps its
    // own too).
    let mut spare_udp = None;
    let (first, data_port) = if request.kind.is_udp() {
        let socket = session::bind_udp(SocketAddr::new(local_ip, 0), &request.socket)
            .map_err(io("binding the UDP data socket"))?;
        let port = socket.local_addr().map_err(io("UDP data socket"))?.port();
        if request.shared_bucket {
            spare_udp = Some(socket.try_clone().map_err(io("UDP data socket"))?);
        }
        (Pending::Ready(DataSockets::Udp(socket)), port)
    } else {
        let listener = session::bind_data_listener(local_ip, &request)
            .map_err(io("binding the TCP data listener"))?;
        let port = listener.local_addr().map_err(io("data listener"))?.port();
        if request.kind == TestKind::TcpCrr {
            (Pending::Ready(DataSockets::CrrServer(listener)), port)
        } else {
            (Pending::Accept(listener), port)
        }
    };
    // Latency under load: the probes come to the data port's number over UDP.
    let load_probe = match request.latency_under_load {
        Some(_) => Some(
            std::net::UdpSocket::bind(SocketAddr::new(local_ip, data_port)).map_err(io(
                &format!("binding the latency probe's UDP socket on port {data_port}"),
            ))?,
        ),
        None => None,
    };
    control
        .send(&Message::Accepted { data_port, cookie })
        .await?;
    let mut test = Test {
        config,
        request: request.clone(),
        cookie,
        epoch: Instant::now(),
        listener: None,
        load_probe,
    };
    let started_at = std::time::SystemTime::now();
    let drain = test
        .run_phase(
            control,
            request.clone(),
            first,
            Duration::ZERO,
            until::Role::of(&request, End::Server),
        )
        .await?;
    let rebursts = if request.refill_idle_ms.is_empty() {
        Vec::new()
    } else {
        test.rebursts(control).await?
    };
    if request.shared_bucket {
        // The client reads both directions and gives the verdict; this side runs its half.
        test.other_direction(control, spare_udp).await?;
    }
    // Host facts are read once every phase is over: nothing delays the next one.
    let mut report = build_report(&ReportContext {
        end: End::Server,
        request: &request,
        local: &drain,
        remote: None,
        started_at,
        run_id: config.run_id.clone(),
        peer: control.peer().to_owned(),
        host: probe_core::HostFacts::collect(),
    });
    // Only a receiving server counted the re-bursts.
    if !request.refill_idle_ms.is_empty() && until::receiver(&request) == End::Server {
        let sides: Vec<&SideResult> = rebursts.iter().map(|p| &p.side).collect();
        report.metrics.refill = refill::analyze(&request, &report, &drain.side, &sides);
    }
    Ok(report)
}

/// Data sockets of the next phase: open, or still to accept.
enum Pending {
    Ready(DataSockets),
    Accept(TcpListener),
}

/// An accepted test between its phases.
struct Test<'a> {
    config: &'a ServerConfig,
    request: Arc<TestRequest>,
    cookie: [u8; 16],
    /// When this side's session began: receivers time their first and last bytes from it.
    epoch: Instant,
    /// The TCP data listener, kept between phases: a refill test's re-bursts connect to the
    /// port announced once.
    listener: Option<TcpListener>,
    /// The latency probe's echo socket, for the (only) phase of a test that asked for one.
    load_probe: Option<std::net::UdpSocket>,
}

impl Test<'_> {
    /// Refill test: one re-burst each time the client asks, until it has had one per idle time
    /// or says there will be none.
    async fn rebursts(&mut self, control: &mut Control) -> Result<Vec<SideOutput>> {
        let request = self.request.clone();
        let timeout = self.config.limits.control_timeout;
        let hold = Duration::from_millis(request.baseline_hold_ms.unwrap_or(0));
        let mut phases = Vec::with_capacity(request.refill_idle_ms.len());
        for idle in &request.refill_idle_ms {
            let below = match control
                .recv(timeout, "the next re-burst or the end of the refill test")
                .await?
            {
                Message::Reburst {
                    quiet_below_bits_per_sec,
                } => quiet_below_bits_per_sec,
                Message::RefillEnd => break,
                other => {
                    return Err(NetError::Protocol {
                        peer: control.peer().to_owned(),
                        reason: format!(
                            "expected Reburst or RefillEnd, got {}",
                            message_name(&other)
                        ),
                    })
                }
            };
            let listener = self.listener.take().ok_or_else(|| NetError::Protocol {
                peer: control.peer().to_owned(),
                reason: "a re-burst needs the TCP data listener of a tcp-stream test".into(),
            })?;
            let rule = until::StopRule::Quiet {
                hold,
                below_bits_per_sec: below,
            };
            let role = until::Role::with_rule(&request, End::Server, rule);
            // The client connects once its idle time is over.
            let wait = Duration::from_millis(*idle);
            phases.push(
                self.run_phase(
                    control,
                    request.clone(),
                    Pending::Accept(listener),
                    wait,
                    role,
                )
                .await?,
            );
        }
        Ok(phases)
    }

    /// Shared-bucket test: right after the drain, the same test in the other direction, on
    /// new data connections (TCP) or the same socket (`udp`), until its baseline holds.
    async fn other_direction(
        &mut self,
        control: &mut Control,
        udp: Option<std::net::UdpSocket>,
    ) -> Result<SideOutput> {
        let pending = match (udp, self.listener.take()) {
            (Some(socket), _) => Pending::Ready(DataSockets::Udp(socket)),
            (None, Some(listener)) => Pending::Accept(listener),
            (None, None) => {
                return Err(NetError::Protocol {
                    peer: control.peer().to_owned(),
                    reason: "the other direction of a shared-bucket test needs the data \
                             listener of a tcp-stream test or the socket of a udp-stream test"
                        .into(),
                })
            }
        };
        let other = Arc::new(bucket_sharing::other_direction(&self.request));
        let role = until::Role::of(&other, End::Server);
        self.run_phase(control, other, pending, Duration::ZERO, role)
            .await
    }

    /// Accepts the phase's data connections for `request` (the test's, or a phase's own; the
    /// client idles up to `idle` first), waits for `Start`, runs this side's data plane in
    /// `role` and sends the client this side's result.
    async fn run_phase(
        &mut self,
        control: &mut Control,
        request: Arc<TestRequest>,
        pending: Pending,
        idle: Duration,
        role: until::Role,
    ) -> Result<SideOutput> {
        let timeout = self.config.limits.control_timeout;
        let cookie = self.cookie;
        let sockets = match pending {
            Pending::Ready(s) => s,
            Pending::Accept(listener) => {
                let req = request.clone();
                let deadline = Instant::now() + idle + timeout;
                let (listener, accepted) = tokio::task::spawn_blocking(move || {
                    let accepted = session::accept_streams(&listener, &req, &cookie, deadline);
                    (listener, accepted)
                })
                .await
                .map_err(|e| NetError::io("data accept", std::io::Error::other(e)))?;
                self.listener = Some(listener);
                DataSockets::Tcp(accepted.map_err(io("accepting data connections"))?)
            }
        };
        match control.recv(timeout, "start").await? {
            Message::Start => {}
            other => {
                return Err(NetError::Protocol {
                    peer: control.peer().to_owned(),
                    reason: format!("expected Start, got {}", message_name(&other)),
                })
            }
        }
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
        let cpus = if request.server_cpus.is_empty() {
            self.config.cpus.clone()
        } else {
            request.server_cpus.clone()
        };
        let (req, data_window) = (request.clone(), window.clone());
        let load_probe = self.load_probe.take();
        let data = tokio::task::spawn_blocking(move || {
            session::run_side(
                End::Server,
                &req,
                sockets,
                load_probe,
                data_window,
                &cookie,
                &cpus,
            )
        });
        let (done, _) = until::await_data(
            control,
            &window,
            role,
            data,
            false,
            window.duration + window.omit + Duration::from_secs(60),
        )
        .await?;
        let output = done
            .map_err(|e| NetError::io("data plane", std::io::Error::other(e)))?
            .map_err(io("server data plane"))?;
        control.send(&Message::Result(output.side.clone())).await?;
        Ok(output)
    }
}
