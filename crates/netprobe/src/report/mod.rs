//! Turns what both sides measured into a `probe_core::Report`. Receiver-side counts are the
//! throughput; the sender's socket is where TCP_INFO explains it.

use std::time::SystemTime;

use probe_core::report::{
    Direction, IntervalSample, LatencyMetrics, LoadMode, Role, SocketSettings, StreamResult,
    Throughput, UdpMetrics,
};
use probe_core::{regime, HostFacts, Report};

use crate::protocol::{Flow, ReceiveWait, SideResult, StreamSide, TestKind, TestRequest};
use crate::session::{End, SideOutput};

mod cpu;
mod cpu_bound;
mod summary;

pub use summary::human_summary;

/// Inputs of [`build_report`].
pub(crate) struct ReportContext<'a> {
    pub(crate) end: End,
    pub(crate) request: &'a TestRequest,
    pub(crate) local: &'a SideOutput,
    pub(crate) remote: Option<&'a SideResult>,
    pub(crate) started_at: SystemTime,
    pub(crate) run_id: Option<String>,
    pub(crate) peer: String,
    /// Facts of this host, collected by the caller: building the report reads nothing.
    pub(crate) host: HostFacts,
}

fn other(end: End) -> End {
    match end {
        End::Client => End::Server,
        End::Server => End::Client,
    }
}

fn direction_of_sender(sender: End) -> Direction {
    match sender {
        End::Client => Direction::ClientToServer,
        End::Server => Direction::ServerToClient,
    }
}

fn socket_settings(s: &StreamSide) -> SocketSettings {
    s.socket.clone().into()
}

fn bits_per_sec(bytes: u64, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        bytes as f64 * 8.0 * 1e9 / ns as f64
    }
}

fn role_of(end: End) -> Role {
    match end {
        End::Client => Role::Client,
        End::Server => Role::Server,
    }
}

/// Adds one direction's interval samples to the report and reads its regime from them.
fn push_series(
    report: &mut Report,
    direction: Direction,
    per_slot: &[u64],
    interval_ns: u64,
    window_ns: u64,
) {
    let mut series = Vec::with_capacity(per_slot.len());
    for (slot, &bytes) in per_slot.iter().enumerate() {
        let start_ns = slot as u64 * interval_ns;
        if start_ns >= window_ns {
            break; // an until-baseline window ended before its cap
        }
        let duration_ns = interval_ns.min(window_ns.saturating_sub(start_ns));
        let rate = bits_per_sec(bytes, duration_ns);
        report.intervals.push(IntervalSample {
            direction: Some(direction),
            start_ns,
            duration_ns,
            bytes,
            bits_per_sec: rate,
            transactions: None,
            cpu_bound: false,
        });
        series.push(regime::Sample {
            start_ns,
            duration_ns,
            bits_per_sec: rate,
        });
    }
    if series.is_empty() {
        return;
    }
    let found = regime::detect(&series, &regime::DetectorConfig::default());
    if let Some(t) = report
        .metrics
        .throughput
        .iter_mut()
        .find(|t| t.direction == direction)
    {
        t.regime = Some(found);
    }
}

/// Builds the report of one side, using the other side's result when it is known: a pure
/// function of the measurements, the request and the host facts in `ctx`.
pub(crate) fn build_report(ctx: &ReportContext<'_>) -> Report {
    let req = ctx.request;
    let mut report = Report::new(
        "netprobe",
        env!("CARGO_PKG_VERSION"),
        role_of(ctx.end),
        req.kind.name(),
    );
    report.run_id = ctx.run_id.clone();
    report.started_at = Some(humantime::format_rfc3339_millis(ctx.started_at).to_string());
    // What this side measured: the request's duration, or shorter where until-baseline ended
    // the window early by agreement.
    report.measured_duration_ns = match ctx.local.side.measured_ns {
        0 => req.duration_ms * 1_000_000,
        ns => ns.min(req.duration_ms * 1_000_000),
    };
    if let Some(hold) = req.baseline_hold_ms {
        report.set_parameter("until_baseline_hold_ms", hold);
        report.set_parameter("until_baseline_cap_ms", req.duration_ms);
    }
    if !req.refill_idle_ms.is_empty() {
        let idle_ns: Vec<u64> = req.refill_idle_ms.iter().map(|ms| ms * 1_000_000).collect();
        report.set_parameter("refill_idle_ns", idle_ns);
    }
    if req.shared_bucket {
        // The figures are the drain's; the other direction ran after it on the same session.
        report.set_parameter("shared_bucket", true);
    }
    report.set_host(ctx.host.clone());
    set_parameters(&mut report, req, ctx);

    let sides: Vec<(End, &SideResult)> = std::iter::once((ctx.end, &ctx.local.side))
        .chain(ctx.remote.map(|r| (other(ctx.end), r)))
        .collect();
    let window_ns = report.measured_duration_ns;
    let interval_ns = req.interval_ms * 1_000_000;

    match req.kind {
        TestKind::TcpStream => {
            for sender_end in [End::Client, End::Server] {
                let receiver_end = other(sender_end);
                let Some((_, receiver)) = sides.iter().find(|(e, _)| *e == receiver_end) else {
                    continue;
                };
                let sender = sides
                    .iter()
                    .find(|(e, _)| *e == sender_end)
                    .map(|(_, s)| *s);
                let received: Vec<&StreamSide> =
                    receiver.streams.iter().filter(|s| !s.sender).collect();
                if received.is_empty() {
                    continue;
                }
                let direction = direction_of_sender(sender_end);
                let total: u64 = received.iter().map(|s| s.received_bytes).sum();
                let streams = received
                    .iter()
                    .map(|r| {
                        let sent = sender.and_then(|s| {
                            s.streams.iter().find(|x| x.index == r.index && x.sender)
                        });
                        StreamResult {
                            index: r.index,
                            received_bytes: r.received_bytes,
                            bits_per_sec: bits_per_sec(r.received_bytes, window_ns),
                            sender_socket: sent.map(socket_settings),
                            receiver_socket: Some(socket_settings(r)),
                            sender_tcp_info: sent.and_then(|s| s.tcp_info).map(Into::into),
                        }
                    })
                    .collect();
                report.metrics.throughput.push(Throughput {
                    direction,
                    received_bytes: total,
                    measured_ns: window_ns,
                    bits_per_sec: bits_per_sec(total, window_ns),
                    streams,
                    regime: None,
                });
                let slots = received
                    .iter()
                    .map(|s| s.interval_bytes.len())
                    .max()
                    .unwrap_or(0);
                let per_slot: Vec<u64> = (0..slots)
                    .map(|slot| {
                        received
                            .iter()
                            .map(|s| s.interval_bytes.get(slot).copied().unwrap_or(0))
                            .sum()
                    })
                    .collect();
                push_series(&mut report, direction, &per_slot, interval_ns, window_ns);
            }
        }
        TestKind::UdpStream => {
            let sender_end = if req.flow == Flow::Forward {
                End::Client
            } else {
                End::Server
            };
            let receiver = sides
                .iter()
                .find(|(e, _)| *e == other(sender_end))
                .and_then(|(_, s)| s.udp.as_ref());
            let sender = sides
                .iter()
                .find(|(e, _)| *e == sender_end)
                .map(|(_, s)| *s);
            let sent = sender.map(|s| s.udp_sent);
            if let Some(counts) = receiver {
                let direction = direction_of_sender(sender_end);
                report.metrics.throughput.push(Throughput {
                    direction,
                    received_bytes: counts.window_bytes,
                    measured_ns: window_ns,
                    bits_per_sec: bits_per_sec(counts.window_bytes, window_ns),
                    streams: Vec::new(),
                    regime: None,
                });
                push_series(
                    &mut report,
                    direction,
                    &counts.interval_bytes,
                    interval_ns,
                    window_ns,
                );
                let sent = sent.unwrap_or(counts.received);
                let lost = sent.saturating_sub(counts.received);
                report.metrics.udp = Some(UdpMetrics {
                    sent_datagrams: sent,
                    received_datagrams: counts.received,
                    lost_datagrams: lost,
                    duplicate_datagrams: counts.duplicates,
                    out_of_order_datagrams: counts.out_of_order,
                    loss_ratio: if sent == 0 {
                        0.0
                    } else {
                        lost as f64 / sent as f64
                    },
                    jitter_ns: counts.jitter_ns,
                    datagram_bytes: u64::from(req.message_bytes),
                    receiver_socket_drops: counts.socket_drops,
                    sender_queue_full_sends: sender.map(|s| s.udp_queue_full),
                });
            }
        }
        TestKind::TcpRr | TestKind::UdpRr | TestKind::TcpCrr => {
            if let Some(rr) = &ctx.local.rr {
                let seconds = window_ns as f64 / 1e9;
                report.metrics.latency = Some(LatencyMetrics {
                    mode: if req.rate.is_some() {
                        LoadMode::Open
                    } else {
                        LoadMode::Closed
                    },
                    target_rate_per_sec: req.rate.map(|r| r as f64),
                    rtt_summary: rr.rtt.summary(),
                    rtt: rr.rtt.clone(),
                    rtt_uncorrected: rr.uncorrected.clone(),
                    connect: rr.connect.clone(),
                    transactions: rr.transactions,
                    transactions_per_sec: rr.transactions as f64 / seconds,
                    timeouts: rr.timeouts,
                    errors: rr.errors,
                });
                for (slot, tx) in rr.interval_transactions.iter().enumerate() {
                    let start_ns = slot as u64 * interval_ns;
                    report.intervals.push(IntervalSample {
                        direction: None,
                        start_ns,
                        duration_ns: interval_ns.min(window_ns.saturating_sub(start_ns)),
                        bytes: 0,
                        bits_per_sec: 0.0,
                        transactions: Some(*tx),
                        cpu_bound: false,
                    });
                }
                if rr.transactions == 0 {
                    report
                        .warnings
                        .push("no transaction completed inside the measured window".into());
                }
            }
        }
    }

    let max_intervals = window_ns.div_ceil(interval_ns.max(1)) as usize;
    for (end, side) in &sides {
        report.metrics.cpu.push(cpu::cpu_usage(
            role_of(*end),
            side,
            req.kind,
            report.host.effective_cpus,
            max_intervals,
        ));
    }
    cpu::mark_cpu_bound(&mut report);
    add_warnings(&mut report, ctx);
    report
}

fn set_parameters(report: &mut Report, req: &TestRequest, ctx: &ReportContext<'_>) {
    report.set_parameter("peer", ctx.peer.clone());
    report.set_parameter("duration_ns", req.duration_ms * 1_000_000);
    report.set_parameter("omit_ns", req.omit_ms * 1_000_000);
    report.set_parameter("interval_ns", req.interval_ms * 1_000_000);
    report.set_parameter("streams", req.streams);
    report.set_parameter(
        "direction",
        match req.flow {
            Flow::Forward => "forward",
            Flow::Reverse => "reverse",
            Flow::Bidirectional => "bidirectional",
        },
    );
    report.set_parameter("message_bytes", req.message_bytes);
    if matches!(
        req.kind,
        TestKind::TcpRr | TestKind::UdpRr | TestKind::TcpCrr
    ) {
        report.set_parameter("response_bytes", req.response_bytes);
    }
    match (req.kind, req.rate) {
        (TestKind::UdpStream, Some(rate)) => report.set_parameter("rate_bits_per_sec", rate),
        (_, Some(rate)) => report.set_parameter("rate_per_sec", rate),
        _ => {}
    }
    if !req.rate_profile.is_empty() {
        report.set_parameter(
            "rate_profile",
            probe_core::contract::rate_profile::format(&req.rate_profile),
        );
    }
    if req.kind == TestKind::UdpRr {
        report.set_parameter("request_timeout_ns", req.request_timeout_ms * 1_000_000);
    }
    report.set_parameter("zerocopy", req.zerocopy);
    report.set_parameter("no_delay", req.socket.no_delay);
    if let Some(v) = req.socket.send_buffer_bytes {
        report.set_parameter("requested_send_buffer_bytes", v);
    }
    if let Some(v) = req.socket.recv_buffer_bytes {
        report.set_parameter("requested_recv_buffer_bytes", v);
    }
    if let Some(v) = req.socket.mss_bytes {
        report.set_parameter("requested_mss_bytes", v);
    }
    if let Some(v) = &req.socket.congestion {
        report.set_parameter("congestion", v.clone());
    }
    let (client_cpus, server_cpus) = match ctx.end {
        End::Client => (
            ctx.local.side.pinned_cpus.clone(),
            ctx.remote
                .map(|r| r.pinned_cpus.clone())
                .unwrap_or_default(),
        ),
        End::Server => (Vec::new(), ctx.local.side.pinned_cpus.clone()),
    };
    report.set_parameter(
        "receive_wait",
        match req.receive_wait {
            ReceiveWait::Auto => "auto",
            ReceiveWait::Poll => "poll",
            ReceiveWait::Block => "block",
        },
    );
    let (client_side, server_side) = match ctx.end {
        End::Client => (Some(&ctx.local.side), ctx.remote),
        End::Server => (None, Some(&ctx.local.side)),
    };
    if let Some(side) = client_side {
        report.set_parameter("client_receivers_polled", side.receivers_polled);
    }
    if let Some(side) = server_side {
        report.set_parameter("server_receivers_polled", side.receivers_polled);
    }
    if req.kind == TestKind::TcpStream {
        report.set_parameter("send_path", req.send_path.name());
        for (name, side) in [("client", client_side), ("server", server_side)] {
            let Some(side) = side else { continue };
            if let Some(taken) = send_path_taken(side) {
                report.set_parameter(&format!("{name}_send_path"), taken);
            }
            if let Some(why) = &side.send_path_fallback {
                report.set_parameter(&format!("{name}_send_path_fallback"), why.clone());
            }
        }
    }
    let loopback = ctx.peer.starts_with("127.") || ctx.peer.starts_with("[::1]");
    cpu::set_wait_parameters(report, req, client_side, server_side, loopback);
    report.set_parameter("client_cpus", client_cpus);
    report.set_parameter("server_cpus", server_cpus);
}

/// The send path a side's TCP stream senders took: `splice`, `copy`, or how many of them
/// spliced when they differed; `None` for a side that sent nothing.
fn send_path_taken(side: &SideResult) -> Option<String> {
    match (side.spliced_senders, side.copied_senders) {
        (0, 0) => None,
        (_, 0) => Some("splice".into()),
        (0, _) => Some("copy".into()),
        (spliced, copied) => Some(format!(
            "splice on {spliced} of {} streams",
            spliced + copied
        )),
    }
}

fn add_warnings(report: &mut Report, ctx: &ReportContext<'_>) {
    let loopback = ctx.peer.starts_with("127.") || ctx.peer.starts_with("[::1]");
    // Placement is fixed when each side's data threads can run on one CPU only (our pinning or
    // the caller's taskset); with more, the scheduler may move them on or off a shared core.
    let floating =
        ctx.local.side.allowed_cpus > 1 || ctx.remote.is_some_and(|r| r.allowed_cpus > 1);
    if loopback && floating && ctx.end == End::Client {
        report.warnings.push(
            "loopback test with unpinned threads: throughput depends on whether sender and \
             receiver share a core (about 2x); pin with --cpus and --server-cpus for stable figures"
                .into(),
        );
    }
    for side in std::iter::once(&ctx.local.side).chain(ctx.remote) {
        let slots = side.udp_sent + side.udp_skipped;
        // A few slots go before a reverse sender hears the client's hello; more is a sender
        // that could not keep its schedule.
        // Two causes, told apart: the sender's own queue was full (its interface or qdisc held
        // it back: sends that found no room), or it was not scheduled in time (short of CPU).
        let why = if side.udp_queue_full > 0 {
            format!(
                "its own socket queue was full for {} sends: this host's interface or qdisc held \
                 the sender back (shaping on the sender, which Fargate does not do), not the path \
                 and not the CPU",
                side.udp_queue_full
            )
        } else {
            "it was short of CPU".to_owned()
        };
        if slots > 0 && side.udp_skipped * 100 > slots {
            report.warnings.push(format!(
                "the UDP sender fell behind its schedule and gave up {} of {slots} send slots \
                 ({:.1} %) rather than burst them onto the path: {why}, so the rate sent was \
                 below the rate asked; loss figures cover what was sent",
                side.udp_skipped,
                side.udp_skipped as f64 * 100.0 / slots as f64
            ));
        } else if side.udp_queue_full * 100 > side.udp_sent.max(1) {
            report
                .warnings
                .push(format!("the UDP sender kept its schedule, but {why}"));
        }
    }
    let early = ctx
        .local
        .side
        .streams
        .iter()
        .chain(ctx.remote.iter().flat_map(|r| r.streams.iter()))
        .filter(|s| s.ended_early)
        .count();
    if early > 0 {
        report.warnings.push(format!(
            "{early} stream(s) ended before the measured window closed: the peer stopped or the \
             connection broke, so the figures cover less than the requested duration"
        ));
    }
    for t in &report.metrics.throughput {
        if t.received_bytes == 0 {
            report.warnings.push(format!(
                "{:?}: no data arrived inside the measured window",
                t.direction
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use probe_core::contract::{CpuTimes, SocketReadback, TcpInfoReadback};
    use probe_core::report::Direction;

    use super::*;
    use crate::protocol::UdpCounts;

    fn host() -> HostFacts {
        HostFacts {
            effective_cpus: 2.0,
            ..Default::default()
        }
    }

    fn context<'a>(
        request: &'a TestRequest,
        local: &'a SideOutput,
        remote: &'a SideResult,
    ) -> ReportContext<'a> {
        ReportContext {
            end: End::Client,
            request,
            local,
            remote: Some(remote),
            started_at: UNIX_EPOCH + Duration::from_secs(1_764_500_000),
            run_id: Some("run-1".into()),
            peer: "10.0.0.2:5301".into(),
            host: host(),
        }
    }

    #[test]
    fn the_send_path_taken_counts_the_sides_senders() {
        let side = |spliced, copied| SideResult {
            spliced_senders: spliced,
            copied_senders: copied,
            ..Default::default()
        };
        assert_eq!(
            send_path_taken(&side(0, 0)),
            None,
            "a side that only received"
        );
        assert_eq!(send_path_taken(&side(4, 0)).as_deref(), Some("splice"));
        assert_eq!(send_path_taken(&side(0, 1)).as_deref(), Some("copy"));
        assert_eq!(
            send_path_taken(&side(3, 1)).as_deref(),
            Some("splice on 3 of 4 streams")
        );
    }

    #[test]
    fn a_forward_stream_is_the_servers_count_with_the_clients_tcp_info() {
        let request = TestRequest::tcp_stream(Duration::from_secs(2));
        let client = SideOutput {
            side: SideResult {
                measured_ns: 2_000_000_000,
                streams: vec![StreamSide {
                    index: 0,
                    sender: true,
                    socket: SocketReadback {
                        send_buffer_bytes: Some(4 << 20),
                        ..Default::default()
                    },
                    tcp_info: Some(TcpInfoReadback {
                        total_retransmits: 7,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                cpu: CpuTimes {
                    user_ns: 100_000_000,
                    system_ns: 900_000_000,
                    voluntary_switches: 0,
                },
                ..Default::default()
            },
            rr: None,
            ..Default::default()
        };
        let server = SideResult {
            measured_ns: 2_000_000_000,
            streams: vec![StreamSide {
                index: 0,
                received_bytes: 250_000_000,
                interval_bytes: vec![100_000_000, 150_000_000],
                ..Default::default()
            }],
            ..Default::default()
        };
        let report = build_report(&context(&request, &client, &server));
        assert_eq!(report.run_id.as_deref(), Some("run-1"));
        assert_eq!(report.host, host());
        assert_eq!(report.metrics.throughput.len(), 1);
        let t = &report.metrics.throughput[0];
        assert_eq!(t.direction, Direction::ClientToServer);
        assert_eq!(t.bits_per_sec, 1e9, "250 MB in 2 s");
        let s = &t.streams[0];
        assert_eq!(s.sender_tcp_info.as_ref().unwrap().total_retransmits, 7);
        assert_eq!(
            s.sender_socket.as_ref().unwrap().send_buffer_bytes,
            Some(4 << 20)
        );
        let bps: Vec<f64> = report.intervals.iter().map(|i| i.bits_per_sec).collect();
        assert_eq!(bps, [8e8, 1.2e9]);
        let client_cpu = report
            .metrics
            .cpu
            .iter()
            .find(|c| c.side == Role::Client)
            .unwrap();
        assert_eq!(
            client_cpu.share_of_quota,
            Some(0.25),
            "1 s of CPU in 2 s on 2 CPUs"
        );
    }

    #[test]
    fn udp_loss_counts_what_the_sender_sent_against_what_arrived() {
        let request = TestRequest::new(TestKind::UdpStream, Duration::from_secs(1));
        let client = SideOutput {
            side: SideResult {
                udp_sent: 1000,
                ..Default::default()
            },
            rr: None,
            ..Default::default()
        };
        let server = SideResult {
            udp: Some(UdpCounts {
                received: 990,
                window_bytes: 990 * 1400,
                socket_drops: Some(4),
                ..Default::default()
            }),
            ..Default::default()
        };
        let report = build_report(&context(&request, &client, &server));
        let udp = report.metrics.udp.unwrap();
        assert_eq!((udp.lost_datagrams, udp.loss_ratio), (10, 0.01));
        assert_eq!(udp.receiver_socket_drops, Some(4));
        assert_eq!(
            report.metrics.throughput[0].bits_per_sec,
            990.0 * 1400.0 * 8.0
        );
    }
}
