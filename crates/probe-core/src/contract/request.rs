//! What a netprobe client may ask of a server, and the one check of it that everyone runs.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::rate_profile::RateStep;

/// Bytes at the head of every request, response and datagram (sequence, timestamp, tag): the
/// smallest payload a datagram or request/response test can use.
pub const DATA_HEADER_BYTES: u32 = 24;

/// Largest TCP write or request/response accepted (bounds per-stream buffers).
pub const MAX_MESSAGE_BYTES: u32 = 16 * 1024 * 1024;

/// Largest UDP payload over IPv4.
pub const MAX_DATAGRAM_BYTES: u32 = 65_507;

/// Highest open-loop request rate, per second.
pub const MAX_OPEN_LOOP_RATE: u64 = 10_000_000;

/// The network test kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TestKind {
    /// Bulk TCP.
    TcpStream,
    /// Bulk UDP at a rate.
    UdpStream,
    /// TCP request/response on persistent connections.
    TcpRr,
    /// UDP request/response.
    UdpRr,
    /// TCP connect, request, response, close.
    TcpCrr,
}

impl TestKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [TestKind; 5] = [
        TestKind::TcpStream,
        TestKind::UdpStream,
        TestKind::TcpRr,
        TestKind::UdpRr,
        TestKind::TcpCrr,
    ];

    /// The name used on the command line, in suites and in reports.
    pub fn name(self) -> &'static str {
        match self {
            TestKind::TcpStream => "tcp-stream",
            TestKind::UdpStream => "udp-stream",
            TestKind::TcpRr => "tcp-rr",
            TestKind::UdpRr => "udp-rr",
            TestKind::TcpCrr => "tcp-crr",
        }
    }

    /// Whether the data plane is UDP.
    pub fn is_udp(self) -> bool {
        matches!(self, TestKind::UdpStream | TestKind::UdpRr)
    }

    /// Whether it moves bulk data one way (throughput tests, with a direction and receivers).
    pub fn is_bulk(self) -> bool {
        matches!(self, TestKind::TcpStream | TestKind::UdpStream)
    }
}

impl FromStr for TestKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TestKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown test {s:?}; use one of {}", names(&TestKind::ALL)))
    }
}

/// Which way bulk data flows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flow {
    /// Client sends.
    #[default]
    Forward,
    /// Server sends (`--reverse`).
    Reverse,
    /// Both at once (`--bidir`), on separate connections.
    Bidirectional,
}

/// How a bulk receiver waits for data when its socket is empty.
///
/// A receiver that sleeps must be woken, and the wake-up runs on the sender's side of the
/// stack (on loopback, in the sender's own system call): on a 2-vCPU KVM guest a sleeping
/// receiver held a 128 KiB-write TCP stream at 0.74x of one that polled. Polling costs the
/// receiving side a core while it waits, so it is only chosen when every data thread of that
/// side has a CPU of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiveWait {
    /// Each side polls when its data threads fit its CPUs (affinity, cgroup quota and
    /// `--cpus`), else blocks; never on fractional-vCPU tasks.
    #[default]
    Auto,
    /// Poll: non-blocking reads for up to a short spin budget, then one blocking read. The
    /// receiver's CPU time then includes its waiting.
    Poll,
    /// Always block in the kernel; the receiver's CPU time is then its true cost per byte.
    Block,
}

impl ReceiveWait {
    /// Every choice, in help order.
    pub const ALL: [ReceiveWait; 3] = [ReceiveWait::Auto, ReceiveWait::Poll, ReceiveWait::Block];

    /// Name as on the command line and in suites.
    pub fn name(self) -> &'static str {
        match self {
            ReceiveWait::Auto => "auto",
            ReceiveWait::Poll => "poll",
            ReceiveWait::Block => "block",
        }
    }
}

impl FromStr for ReceiveWait {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReceiveWait::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("unknown receive wait {s:?}; use auto, poll or block"))
    }
}

/// How a bulk TCP sender hands its payload to the socket.
///
/// Copying (`write`) spends most of a quota-bound sender's CPU in the copy from user space (on a
/// 2-vCPU KVM guest, 40 % of its samples in `_copy_from_iter` at 0.25 vCPU per side). Splicing
/// hands the kernel references to the same pages instead (`tee` + `splice` from a pipe that
/// holds the payload): the same bytes leave in the same segments, for a quarter to a third less
/// CPU per byte, so a probe under a small quota measures the network rather than its own copy
/// loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendPath {
    /// Splice where a pipe can hold one write (and the kernel has `tee`/`splice`), else copy;
    /// a paced sender (`--rate-profile`) copies. The report says which path each side took.
    #[default]
    Auto,
    /// Always splice; a write larger than a pipe can hold is sent from a memfd (`sendfile`).
    Splice,
    /// Always copy from user space, as most applications send.
    Copy,
}

impl SendPath {
    /// Every choice, in help order.
    pub const ALL: [SendPath; 3] = [SendPath::Auto, SendPath::Splice, SendPath::Copy];

    /// Name as on the command line and in suites.
    pub fn name(self) -> &'static str {
        match self {
            SendPath::Auto => "auto",
            SendPath::Splice => "splice",
            SendPath::Copy => "copy",
        }
    }
}

impl FromStr for SendPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SendPath::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("unknown send path {s:?}; use auto, splice or copy"))
    }
}

fn names(kinds: &[TestKind]) -> String {
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Socket options the client asks both sides to set on data sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketRequest {
    /// `SO_SNDBUF` to request.
    pub send_buffer_bytes: Option<u32>,
    /// `SO_RCVBUF` to request.
    pub recv_buffer_bytes: Option<u32>,
    /// `TCP_MAXSEG`.
    pub mss_bytes: Option<u32>,
    /// `TCP_NODELAY`.
    pub no_delay: bool,
    /// `TCP_CONGESTION`.
    pub congestion: Option<String>,
}

/// A test as the client asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRequest {
    /// Kind.
    pub kind: TestKind,
    /// Measured window.
    pub duration_ms: u64,
    /// Warm-up excluded from the figures.
    pub omit_ms: u64,
    /// Interval sample length.
    pub interval_ms: u64,
    /// Parallel streams (connections or sockets).
    pub streams: u32,
    /// Direction for bulk tests.
    pub flow: Flow,
    /// Write size (TCP) or datagram payload (UDP).
    pub message_bytes: u32,
    /// Response size for request/response tests.
    pub response_bytes: u32,
    /// Target rate: bits/s for `udp-stream`, transactions/s for open-loop request/response.
    pub rate: Option<u64>,
    /// Socket options.
    pub socket: SocketRequest,
    /// sendfile/MSG_TRUNC data path.
    pub zerocopy: bool,
    /// CPUs the server should pin its data threads to.
    pub server_cpus: Vec<u32>,
    /// How bulk receivers on both sides wait for data.
    pub receive_wait: ReceiveWait,
    /// How bulk TCP senders on both sides hand their payload to the socket.
    pub send_path: SendPath,
    /// Per-request timeout for `udp-rr`.
    pub request_timeout_ms: u64,
    /// Until-baseline (bulk tests): stop once a burst then a baseline is seen and the baseline
    /// has held this long; `duration_ms` is then the cap. `None`: run `duration_ms`.
    pub baseline_hold_ms: Option<u64>,
    /// Refill test (`tcp-stream`, with a baseline hold): after the until-baseline drain, stay
    /// idle this long, then burst again until the baseline is back, once per entry. Each
    /// re-burst is capped at `duration_ms` too. Empty: no refill test.
    pub refill_idle_ms: Vec<u64>,
    /// Closed-loop `tcp-rr` and `udp-rr`: the waiting side of each round trip (the client for
    /// the response, the server for the request) spins on non-blocking receives instead of
    /// sleeping in the kernel, so a round trip pays no wake-ups (and sets `SO_BUSY_POLL` where
    /// allowed). Costs each side a CPU while the test runs; the report says how much.
    pub busy_poll: bool,
    /// Paced sender (`tcp-stream`, `udp-stream`): follow these steps of rate from the start of
    /// the test instead of a fixed rate (see [`super::rate_profile`]). Empty: no profile.
    pub rate_profile: Vec<RateStep>,
    /// Latency under load (`tcp-stream`, one direction): this many round-trip probes per second
    /// on a UDP flow of their own to the same server port, beside the stream, so the report
    /// can say per regime whether the limit queues or drops ([`crate::loaded_latency`]).
    /// `None`: no probe.
    pub latency_under_load: Option<u32>,
    /// One bucket or two (`tcp-stream`, `udp-stream`, one direction, with a baseline hold):
    /// after the until-baseline drain, the same session runs the other direction at once
    /// (new data connections, the flow reversed) until its own baseline holds, so the client
    /// can say whether both directions draw on one token bucket
    /// ([`crate::bucket_sharing`]). Each phase is capped at `duration_ms`.
    #[serde(default)]
    pub shared_bucket: bool,
}

/// Longest interval sample: a series needs several samples to show a burst and a baseline.
pub const MAX_INTERVAL_MS: u64 = 10_000;

/// Samples a baseline must hold before an until-baseline test may stop on it.
pub const MIN_BASELINE_SAMPLES: u64 = 3;

/// Shortest refill idle time: below it, connection setup is a noticeable part of the quiet.
pub const MIN_REFILL_IDLE_MS: u64 = 100;

/// Fastest latency-under-load probe: far below the stream it rides beside, and a round trip
/// every millisecond already resolves a queue's growth.
pub const MAX_LOAD_PROBES_PER_SEC: u32 = 1000;

/// Most probes one latency-under-load test records (4 bytes each on the probing side).
pub const MAX_LOAD_PROBES: u64 = 1_000_000;

/// Most idle times in one refill test (each is a re-burst the server runs).
pub const MAX_REFILL_IDLES: usize = 16;

impl TestRequest {
    /// A forward single-stream `tcp-stream` of `duration` with 128 KiB writes and 1 s intervals.
    pub fn tcp_stream(duration: std::time::Duration) -> Self {
        Self::new(TestKind::TcpStream, duration)
    }

    /// A request of `kind` with the defaults its test uses (iperf3's and sockperf's sizes).
    pub fn new(kind: TestKind, duration: std::time::Duration) -> Self {
        let (message_bytes, response_bytes, rate) = match kind {
            TestKind::TcpStream => (128 * 1024, 0, None),
            TestKind::UdpStream => (1400, 0, Some(1_000_000_000)),
            TestKind::TcpRr | TestKind::UdpRr | TestKind::TcpCrr => (64, 64, None),
        };
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self {
            kind,
            duration_ms,
            omit_ms: 0,
            interval_ms: 1000.min(duration_ms.max(100)),
            streams: 1,
            flow: Flow::Forward,
            message_bytes,
            response_bytes,
            rate,
            socket: SocketRequest {
                no_delay: !matches!(kind, TestKind::TcpStream),
                ..Default::default()
            },
            zerocopy: false,
            server_cpus: Vec::new(),
            receive_wait: ReceiveWait::Auto,
            send_path: SendPath::Auto,
            request_timeout_ms: 100,
            baseline_hold_ms: None,
            refill_idle_ms: Vec::new(),
            busy_poll: false,
            rate_profile: Vec::new(),
            latency_under_load: None,
            shared_bucket: false,
        }
    }

    /// The longest a test can take, warm-up included: with `--refill`, the drain and every
    /// re-burst at their cap plus the idle times; with `--shared-bucket`, the drain and the
    /// other direction at their cap. What a server's duration cap counts.
    pub fn worst_case_ms(&self) -> u64 {
        let phases = self.phases();
        self.refill_idle_ms.iter().fold(
            self.duration_ms
                .saturating_mul(phases)
                .saturating_add(self.omit_ms),
            |total, idle| total.saturating_add(*idle),
        )
    }

    /// Measured phases the test runs on one control session: the drain, then each re-burst
    /// of a refill test or the other direction of a shared-bucket test.
    pub fn phases(&self) -> u64 {
        1 + self.refill_idle_ms.len() as u64 + u64::from(self.shared_bucket)
    }

    /// Data connections or sockets the test opens (both directions of `--bidir` count).
    pub fn total_streams(&self) -> u32 {
        match self.flow {
            Flow::Bidirectional => self.streams.saturating_mul(2),
            _ => self.streams,
        }
    }

    /// Memory a server's data plane takes for this test's buffers: per stream, the message and
    /// response buffers plus 128 KiB (a stream receiver reads at least that much at once, and a
    /// UDP receiver's sequence tracker is that size). What a server's memory budget counts.
    pub fn server_buffer_bytes(&self) -> u64 {
        let per_stream =
            u64::from(self.message_bytes) + u64::from(self.response_bytes) + (128 << 10);
        per_stream * u64::from(self.total_streams())
    }

    /// Checks everything that does not depend on a server's caps: the request is one a probe
    /// can run. Servers run this before their caps ([`RequestCaps::check`]); the controller runs
    /// both on every suite item before it launches a task, so a suite it accepts is never
    /// refused by a probe.
    ///
    /// # Errors
    /// [`Refusal::Invalid`] naming the parameter and its valid range.
    pub fn validate(&self) -> Result<(), Refusal> {
        let invalid = |m: String| Err(Refusal::Invalid(m));
        let r = self;
        if r.duration_ms < 100 {
            return invalid(format!(
                "duration {} ms is under 100 ms; measure for longer",
                r.duration_ms
            ));
        }
        if r.interval_ms < 100 || r.interval_ms > r.duration_ms.clamp(100, MAX_INTERVAL_MS) {
            return invalid(format!(
                "interval {} ms must be 100 ms to 10 s and at most the duration",
                r.interval_ms
            ));
        }
        if !r.refill_idle_ms.is_empty() {
            r.validate_refill()?;
        }
        if !r.rate_profile.is_empty() {
            r.validate_rate_profile()?;
        }
        if let Some(per_sec) = r.latency_under_load {
            r.validate_latency_under_load(per_sec)?;
        }
        if r.shared_bucket {
            r.validate_shared_bucket()?;
        }
        if let Some(hold) = r.baseline_hold_ms {
            if !r.kind.is_bulk() || r.flow == Flow::Bidirectional {
                return invalid(format!(
                    "until-baseline applies to one direction of tcp-stream or udp-stream, not {}{}",
                    r.kind.name(),
                    if r.flow == Flow::Bidirectional {
                        " --bidir"
                    } else {
                        ""
                    }
                ));
            }
            let min = MIN_BASELINE_SAMPLES * r.interval_ms;
            if hold < min || hold >= r.duration_ms {
                return invalid(format!(
                    "a baseline hold of {hold} ms must be at least {MIN_BASELINE_SAMPLES} \
                     intervals ({min} ms) and shorter than the cap of {} ms; raise --time (the \
                     cap) or lower --baseline-hold",
                    r.duration_ms
                ));
            }
        }
        if r.streams == 0 {
            return invalid("0 streams; use at least 1".into());
        }
        if r.kind.is_udp() && r.streams != 1 {
            return invalid(format!(
                "{} uses one socket pair; run several clients for more (got {} streams)",
                r.kind.name(),
                r.streams
            ));
        }
        if r.flow != Flow::Forward && !r.kind.is_bulk() {
            return invalid(format!(
                "--reverse/--bidir do not apply to {}",
                r.kind.name()
            ));
        }
        if r.kind == TestKind::UdpStream && r.flow == Flow::Bidirectional {
            return invalid("udp-stream supports --reverse but not --bidir".into());
        }
        if r.zerocopy && r.kind != TestKind::TcpStream {
            return invalid("--zerocopy applies to tcp-stream only".into());
        }
        if r.send_path != SendPath::Auto && r.kind != TestKind::TcpStream {
            return invalid(format!(
                "--send-path {} applies to tcp-stream only; remove it",
                r.send_path.name()
            ));
        }
        if r.zerocopy && r.send_path == SendPath::Copy {
            return invalid(
                "--zerocopy splices its sends; leave out --send-path copy, or --zerocopy".into(),
            );
        }
        if r.busy_poll && (!matches!(r.kind, TestKind::TcpRr | TestKind::UdpRr) || r.rate.is_some())
        {
            return invalid(format!(
                "--busy-poll applies to closed-loop tcp-rr and udp-rr, not {}{}; remove it",
                r.kind.name(),
                if r.rate.is_some() && !r.kind.is_bulk() {
                    " with --rate (open loop)"
                } else {
                    ""
                }
            ));
        }
        match r.kind {
            TestKind::TcpStream => {
                if r.message_bytes == 0 || r.message_bytes > MAX_MESSAGE_BYTES {
                    return invalid(format!(
                        "write size {} must be 1..={MAX_MESSAGE_BYTES} bytes",
                        r.message_bytes
                    ));
                }
                if r.rate.is_some() {
                    return invalid(
                        "a rate does not apply to tcp-stream; TCP runs as fast as the path allows"
                            .into(),
                    );
                }
            }
            TestKind::UdpStream => {
                if r.message_bytes < DATA_HEADER_BYTES || r.message_bytes > MAX_DATAGRAM_BYTES {
                    return invalid(format!(
                        "datagram size {} must be {DATA_HEADER_BYTES}..={MAX_DATAGRAM_BYTES} bytes",
                        r.message_bytes
                    ));
                }
                match r.rate {
                    Some(0) => return invalid("udp-stream rate 0; give a rate like 1G".into()),
                    // The server never sends unpaced: it would flood the path it measures.
                    None if r.flow != Flow::Forward && r.rate_profile.is_empty() => {
                        return invalid(
                            "an unlimited udp-stream rate needs the client to send; with \
                             --reverse give a rate like 1G"
                                .into(),
                        )
                    }
                    _ => {}
                }
            }
            TestKind::TcpRr | TestKind::UdpRr | TestKind::TcpCrr => {
                let max = if r.kind == TestKind::UdpRr {
                    MAX_DATAGRAM_BYTES
                } else {
                    MAX_MESSAGE_BYTES
                };
                for (what, size) in [("request", r.message_bytes), ("response", r.response_bytes)] {
                    if size < DATA_HEADER_BYTES || size > max {
                        return invalid(format!(
                            "{what} size {size} must be {DATA_HEADER_BYTES}..={max} bytes"
                        ));
                    }
                }
                if let Some(rate) = r.rate {
                    if rate == 0 || rate > MAX_OPEN_LOOP_RATE {
                        return invalid(format!(
                            "open-loop rate {rate}/s must be 1..={MAX_OPEN_LOOP_RATE} transactions per second"
                        ));
                    }
                }
                if r.kind == TestKind::UdpRr
                    && (r.request_timeout_ms == 0 || r.request_timeout_ms > 10_000)
                {
                    return invalid("request timeout must be 1..=10000 ms".into());
                }
            }
        }
        if let Some(c) = &r.socket.congestion {
            if c.is_empty()
                || c.len() > 15
                || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return invalid(format!("congestion control name {c:?} is not valid"));
            }
        }
        if r.server_cpus.len() > 1024 {
            return invalid("too many server CPUs listed".into());
        }
        Ok(())
    }
}

impl TestRequest {
    /// A latency-under-load probe's own checks (see [`TestRequest::latency_under_load`]).
    fn validate_latency_under_load(&self, per_sec: u32) -> Result<(), Refusal> {
        let invalid = |m: String| Err(Refusal::Invalid(m));
        let r = self;
        if r.kind != TestKind::TcpStream || r.flow == Flow::Bidirectional {
            return invalid(format!(
                "--latency-under-load applies to one direction of tcp-stream, not {}{}",
                r.kind.name(),
                if r.flow == Flow::Bidirectional {
                    " --bidir"
                } else {
                    ""
                }
            ));
        }
        if !r.refill_idle_ms.is_empty() {
            return invalid(
                "--latency-under-load does not combine with --refill; run them as two tests".into(),
            );
        }
        if per_sec == 0 || per_sec > MAX_LOAD_PROBES_PER_SEC {
            return invalid(format!(
                "--latency-under-load {per_sec} must be 1..={MAX_LOAD_PROBES_PER_SEC} probes per \
                 second (50 resolves a queue's growth within an interval)"
            ));
        }
        let probes = u64::from(per_sec).saturating_mul(r.duration_ms) / 1000;
        if probes > MAX_LOAD_PROBES {
            return invalid(format!(
                "--latency-under-load {per_sec}/s over {} s is {probes} probes, more than \
                 {MAX_LOAD_PROBES}; probe less often or run shorter",
                r.duration_ms / 1000
            ));
        }
        Ok(())
    }

    /// A rate profile's own checks (see [`TestRequest::rate_profile`]).
    fn validate_rate_profile(&self) -> Result<(), Refusal> {
        let invalid = |m: String| Err(Refusal::Invalid(m));
        let r = self;
        if !r.kind.is_bulk() || r.flow == Flow::Bidirectional {
            return invalid(format!(
                "--rate-profile applies to one direction of tcp-stream or udp-stream, not {}{}",
                r.kind.name(),
                if r.flow == Flow::Bidirectional {
                    " --bidir"
                } else {
                    ""
                }
            ));
        }
        if r.baseline_hold_ms.is_some() {
            return invalid(
                "--rate-profile sends a set pattern and runs the whole --time; leave out \
                 --until-baseline and --refill"
                    .into(),
            );
        }
        if r.rate.is_some() {
            return invalid(
                "--rate-profile sets the rate step by step; give --rate or --rate-profile, not \
                 both"
                    .into(),
            );
        }
        if r.zerocopy {
            return invalid(
                "--zerocopy sends as fast as it can; leave it out with --rate-profile".into(),
            );
        }
        if r.send_path == SendPath::Splice {
            return invalid(
                "a paced sender copies each write; leave out --send-path splice with \
                 --rate-profile"
                    .into(),
            );
        }
        if r.omit_ms > 0 {
            return invalid(format!(
                "--omit {} s with --rate-profile: the warm-up would send the profile's start \
                 unmeasured; leave --omit out",
                secs(r.omit_ms)
            ));
        }
        super::rate_profile::check(&r.rate_profile, r.duration_ms).map_err(Refusal::Invalid)
    }

    /// The shared-bucket test's own checks (see [`TestRequest::shared_bucket`]): it drains one
    /// direction of a bulk test, so the other direction must be one the server can run too.
    fn validate_shared_bucket(&self) -> Result<(), Refusal> {
        let r = self;
        let why = if !r.kind.is_bulk() {
            format!("not {}", r.kind.name())
        } else if r.flow == Flow::Bidirectional {
            "not --bidir: it drains one direction, then runs the other".into()
        } else if r.baseline_hold_ms.is_none() {
            "with a baseline hold (--until-baseline), so the drain ends once the baseline holds"
                .into()
        } else if !r.refill_idle_ms.is_empty() || !r.rate_profile.is_empty() {
            "without --refill or --rate-profile".into()
        } else if r.kind == TestKind::UdpStream && r.rate.is_none() {
            // The other direction of a client-sent unlimited stream is the server sending
            // unpaced, which no server does.
            "with a rate like 1G on udp-stream: the server sends the other direction, and \
             never unpaced"
                .into()
        } else if r.omit_ms > 0 {
            format!(
                "without --omit ({} s): a warm-up would spend, unmeasured, the very burst the \
                 other direction is read by; leave --omit out",
                secs(r.omit_ms)
            )
        } else {
            return Ok(());
        };
        Err(Refusal::Invalid(format!(
            "--shared-bucket applies to one direction of tcp-stream or udp-stream, {why}"
        )))
    }

    /// The refill test's own checks (see [`TestRequest::refill_idle_ms`]).
    fn validate_refill(&self) -> Result<(), Refusal> {
        let invalid = |m: String| Err(Refusal::Invalid(m));
        let r = self;
        if r.kind != TestKind::TcpStream || r.flow == Flow::Bidirectional {
            return invalid(format!(
                "--refill applies to one direction of tcp-stream, not {}{}",
                r.kind.name(),
                if r.flow == Flow::Bidirectional {
                    " --bidir"
                } else {
                    ""
                }
            ));
        }
        if r.baseline_hold_ms.is_none() {
            return invalid(
                "--refill drains the bucket until the baseline holds, so it needs a baseline \
                 hold; give --baseline-hold"
                    .into(),
            );
        }
        if r.omit_ms > 0 {
            return invalid(format!(
                "--omit {} s with --refill: a warm-up spends bucket the test cannot count; \
                 leave --omit out",
                secs(r.omit_ms)
            ));
        }
        if r.refill_idle_ms.len() > MAX_REFILL_IDLES {
            return invalid(format!(
                "{} refill idle times; give at most {MAX_REFILL_IDLES}",
                r.refill_idle_ms.len()
            ));
        }
        for &idle in &r.refill_idle_ms {
            if idle < MIN_REFILL_IDLE_MS {
                return invalid(format!(
                    "a refill idle time of {} s is too short to refill anything measurable; give \
                     idle times of at least {} s, like --refill 30s,120s",
                    secs(idle),
                    secs(MIN_REFILL_IDLE_MS)
                ));
            }
            if idle > r.duration_ms {
                return invalid(format!(
                    "a refill idle time of {} s is longer than the test's cap of {} s (--time); \
                     idle at most the cap, or raise --time",
                    secs(idle),
                    secs(r.duration_ms)
                ));
            }
        }
        Ok(())
    }
}

/// `4`, `0.5`, `120`: milliseconds as seconds for messages.
fn secs(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

/// The caps a server puts on what one request may cost it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCaps {
    /// Longest test, warm-up included, in ms.
    pub max_duration_ms: u64,
    /// Most data connections or sockets in one test.
    pub max_streams: u32,
    /// Highest UDP rate a client may ask the server to send or receive.
    pub max_udp_rate_bits_per_sec: u64,
}

impl Default for RequestCaps {
    /// The caps `netprobe server` runs with unless told otherwise (and so the ones the
    /// controller checks suites against).
    fn default() -> Self {
        Self {
            // Fargate's network burst lasts 5-19 minutes; a test must be able to outlast it.
            max_duration_ms: 1_800_000,
            max_streams: 128,
            max_udp_rate_bits_per_sec: 25_000_000_000,
        }
    }
}

impl RequestCaps {
    /// [`TestRequest::validate`], then the caps; the refusal names the cap and the fix.
    ///
    /// # Errors
    /// The [`Refusal`] a server would send.
    pub fn check(&self, r: &TestRequest) -> Result<(), Refusal> {
        let total_ms = r.duration_ms.saturating_add(r.omit_ms);
        if total_ms > self.max_duration_ms {
            return Err(Refusal::Duration {
                requested_ms: total_ms,
                cap_ms: self.max_duration_ms,
            });
        }
        r.validate()?;
        if r.worst_case_ms() > self.max_duration_ms {
            return Err(Refusal::RefillDuration {
                requested_ms: r.worst_case_ms(),
                phases: u32::try_from(r.phases()).unwrap_or(u32::MAX),
                cap_ms: self.max_duration_ms,
            });
        }
        if r.total_streams() > self.max_streams {
            return Err(Refusal::Streams {
                requested: r.total_streams(),
                cap: self.max_streams,
            });
        }
        if r.kind == TestKind::UdpStream {
            let peak = r.rate.max(Some(super::rate_profile::peak_bits_per_sec(
                &r.rate_profile,
            )));
            if let Some(rate) = peak.filter(|rate| *rate > self.max_udp_rate_bits_per_sec) {
                return Err(Refusal::Rate {
                    requested: rate,
                    cap: self.max_udp_rate_bits_per_sec,
                });
            }
        }
        Ok(())
    }
}

/// Why a server refused a request. Each names the cap or check so the user knows what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// Protocol versions differ.
    #[error("protocol version {client} is not supported by this server (version {server}); use matching netprobe releases")]
    UnsupportedVersion {
        /// Client's.
        client: u16,
        /// Server's.
        server: u16,
    },
    /// First frame was not a netprobe hello.
    #[error("not a netprobe client (bad magic in the first frame)")]
    BadMagic,
    /// The server needs a key and got none.
    #[error("this server requires a pre-shared key; pass --psk KEY or set NETPROBE_PSK")]
    AuthRequired,
    /// The key proof did not verify.
    #[error("key proof failed: client and server have different keys")]
    AuthFailed,
    /// Duration + omit over the cap.
    #[error("duration {requested_ms} ms (with warm-up) is over the server's cap of {cap_ms} ms; shorten --time/--omit or raise the server's --max-duration")]
    Duration {
        /// Requested.
        requested_ms: u64,
        /// Cap.
        cap_ms: u64,
    },
    /// Too many streams.
    #[error("{requested} parallel streams is over the server's cap of {cap}; lower -P or raise the server's --max-streams")]
    Streams {
        /// Requested.
        requested: u32,
        /// Cap.
        cap: u32,
    },
    /// Rate too high.
    #[error("UDP rate {requested} bit/s is over the server's cap of {cap} bit/s; lower --rate or raise the server's --max-rate")]
    Rate {
        /// Requested.
        requested: u64,
        /// Cap.
        cap: u64,
    },
    /// Too many tests at once.
    #[error("the server already runs {cap} tests, its cap; retry later or raise the server's --max-tests")]
    Busy {
        /// Cap.
        cap: u32,
    },
    /// Any other invalid parameter.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Too many connections are waiting for their handshake (from this address, or in all).
    #[error("the server has {cap} connections waiting for their handshake{from_you}; the client retries")]
    Crowded {
        /// The cap that was reached.
        cap: u32,
        /// `" from your address"` when the per-address cap was reached.
        from_you: String,
    },
    /// Too many failed key proofs came from this address: it must wait.
    #[error("too many failed key proofs from your address; wait {retry_after_ms} ms and check the key (NETPROBE_PSK)")]
    SlowDown {
        /// How long until the next proof is heard.
        retry_after_ms: u64,
    },
    /// The server was asked to stop (SIGTERM, Ctrl-C) and takes no new tests.
    #[error("the server is stopping (it was sent SIGTERM or Ctrl-C) and takes no new tests; run the test against a server that is up")]
    Stopping,
    /// The test's buffers do not fit the server's memory budget.
    #[error("this test needs {needed_bytes} bytes of buffers (streams x message size) but the server's memory budget of {budget_bytes} bytes has {free_bytes} free; use fewer streams (-P) or smaller messages (-l), or raise the server's --memory-budget")]
    Memory {
        /// What the request's buffers take.
        needed_bytes: u64,
        /// What the budget has left now (other tests hold the rest).
        free_bytes: u64,
        /// The whole budget.
        budget_bytes: u64,
    },
    /// A test of several phases (a refill test's drain, re-bursts and idle times, or a
    /// shared-bucket test's two directions) could take longer than the cap (appended last, so
    /// the variants before it keep their wire index).
    #[error("a test of {phases} phases capped at --time each (a refill test's drain and re-bursts plus its idle times, or a shared-bucket test's two directions) can take {requested_ms} ms, over the server's cap of {cap_ms} ms; lower --time or the --refill idle times, or raise the server's --max-duration")]
    RefillDuration {
        /// Every phase at its cap, plus the idle times.
        requested_ms: u64,
        /// The drain and the phases after it.
        phases: u32,
        /// Cap.
        cap_ms: u64,
    },
}

impl Refusal {
    /// Whether a client should reconnect and try again (the server is full, not unwilling):
    /// also a memory refusal that would fit once the server's other tests end.
    pub fn is_transient(&self) -> bool {
        match self {
            Refusal::Busy { .. } | Refusal::Crowded { .. } => true,
            Refusal::Memory {
                needed_bytes,
                budget_bytes,
                ..
            } => needed_bytes <= budget_bytes,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as StdDuration;

    fn req(kind: TestKind) -> TestRequest {
        let mut r = TestRequest::new(kind, StdDuration::from_secs(1));
        r.message_bytes = 128;
        r.response_bytes = 128;
        r
    }

    #[test]
    fn every_cap_names_itself() {
        let caps = RequestCaps {
            max_duration_ms: 10_000,
            max_streams: 4,
            max_udp_rate_bits_per_sec: 1_000_000_000,
        };
        let mut r = req(TestKind::TcpStream);
        assert!(caps.check(&r).is_ok());
        r.duration_ms = 20_000;
        assert!(matches!(caps.check(&r), Err(Refusal::Duration { .. })));
        let mut r = req(TestKind::TcpStream);
        r.streams = 3;
        r.flow = Flow::Bidirectional;
        assert!(matches!(
            caps.check(&r),
            Err(Refusal::Streams {
                requested: 6,
                cap: 4
            })
        ));
        let mut r = req(TestKind::UdpStream);
        r.rate = Some(2_000_000_000);
        assert!(matches!(caps.check(&r), Err(Refusal::Rate { .. })));
        r.rate = None;
        assert!(caps.check(&r).is_ok(), "unlimited when the client sends");
        r.flow = Flow::Reverse;
        let e = caps.check(&r).unwrap_err().to_string();
        assert!(e.contains("with --reverse give a rate"), "{e}");
        let mut r = req(TestKind::TcpRr);
        r.message_bytes = 4;
        assert!(matches!(caps.check(&r), Err(Refusal::Invalid(_))));
        let mut r = req(TestKind::TcpStream);
        r.socket.congestion = Some("../../etc".into());
        assert!(matches!(caps.check(&r), Err(Refusal::Invalid(_))));
    }

    /// Issue 26: the send path is a tcp-stream choice; a forced splice cannot pace, and
    /// `--zerocopy` cannot copy.
    #[test]
    fn the_send_path_is_checked_against_the_test() {
        let refused = |r: &TestRequest| match r.validate() {
            Err(Refusal::Invalid(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let mut r = req(TestKind::TcpStream);
        for path in SendPath::ALL {
            r.send_path = path;
            assert!(r.validate().is_ok(), "{path:?}");
            assert_eq!(path.name().parse::<SendPath>().unwrap(), path);
        }
        let mut rr = req(TestKind::TcpRr);
        rr.send_path = SendPath::Copy;
        assert!(refused(&rr).contains("--send-path copy applies to tcp-stream only"));
        r.send_path = SendPath::Copy;
        r.zerocopy = true;
        assert!(refused(&r).contains("leave out --send-path copy"));
        let mut paced = req(TestKind::TcpStream);
        paced.rate_profile = vec![crate::contract::RateStep {
            bits_per_sec: 100_000_000,
            duration_ms: 1_000,
        }];
        assert!(paced.validate().is_ok(), "auto copies when paced");
        paced.send_path = SendPath::Splice;
        assert!(refused(&paced).contains("--send-path splice with --rate-profile"));
        assert!("sendfile"
            .parse::<SendPath>()
            .unwrap_err()
            .contains("auto, splice or copy"));
    }

    fn refill(idle_ms: &[u64]) -> TestRequest {
        let mut r = TestRequest::tcp_stream(StdDuration::from_secs(60));
        r.baseline_hold_ms = Some(5_000);
        r.refill_idle_ms = idle_ms.to_vec();
        r
    }

    #[test]
    fn refill_idle_times_are_checked_with_the_value_and_the_fix() {
        assert!(refill(&[4_000, 20_000]).validate().is_ok());
        for (idle, needle) in [
            (0, "a refill idle time of 0 s is too short"),
            (99, "of 0.099 s is too short"),
            (
                61_000,
                "a refill idle time of 61 s is longer than the test's cap of 60 s (--time)",
            ),
        ] {
            let e = refill(&[4_000, idle]).validate().unwrap_err().to_string();
            assert!(e.contains(needle) && !e.contains("  "), "{e}");
        }
        let e = refill(&[1_000; 17]).validate().unwrap_err().to_string();
        assert!(e.contains("at most 16"), "{e}");
        let mut r = refill(&[4_000]);
        r.omit_ms = 2_000;
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("--omit 2 s") && !e.contains("  "), "{e}");
        let mut r = refill(&[4_000]);
        r.baseline_hold_ms = None;
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("--baseline-hold") && !e.contains("  "), "{e}");
        let mut r = refill(&[4_000]);
        r.flow = Flow::Bidirectional;
        assert!(r
            .validate()
            .unwrap_err()
            .to_string()
            .contains("one direction"));
        let mut r = refill(&[4_000]);
        r.kind = TestKind::UdpStream;
        assert!(r
            .validate()
            .unwrap_err()
            .to_string()
            .contains("not udp-stream"));
    }

    #[test]
    fn a_latency_under_load_probe_is_checked_with_the_value_and_the_fix() {
        let probed = |per_sec: u32| {
            let mut r = TestRequest::tcp_stream(StdDuration::from_secs(60));
            r.latency_under_load = Some(per_sec);
            r
        };
        assert!(probed(50).validate().is_ok());
        assert!(probed(1000).validate().is_ok());
        let e = probed(0).validate().unwrap_err().to_string();
        assert!(e.contains("--latency-under-load 0 must be 1..=1000"), "{e}");
        let e = probed(1001).validate().unwrap_err().to_string();
        assert!(e.contains("1001 must be") && !e.contains("  "), "{e}");
        let mut r = probed(1000);
        r.duration_ms = 3_600_000;
        let e = r.validate().unwrap_err().to_string();
        assert!(
            e.contains("3600000 probes") && e.contains("probe less often"),
            "{e}"
        );
        let mut r = probed(50);
        r.flow = Flow::Bidirectional;
        assert!(r
            .validate()
            .unwrap_err()
            .to_string()
            .contains("not tcp-stream --bidir"));
        let mut r = probed(50);
        r.kind = TestKind::TcpRr;
        assert!(r.validate().unwrap_err().to_string().contains("not tcp-rr"));
        let mut r = refill(&[4_000]);
        r.latency_under_load = Some(50);
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("run them as two tests"), "{e}");
        let mut r = probed(50);
        r.flow = Flow::Reverse;
        assert!(r.validate().is_ok(), "either direction");
    }

    #[test]
    fn a_refill_test_counts_every_burst_and_idle_against_the_duration_cap() {
        let r = refill(&[4_000, 20_000]);
        // Drain and two re-bursts at 60 s, plus 24 s of idle.
        assert_eq!(r.worst_case_ms(), 204_000);
        let caps = RequestCaps {
            max_duration_ms: 200_000,
            ..Default::default()
        };
        let e = caps.check(&r).unwrap_err();
        assert_eq!(
            e,
            Refusal::RefillDuration {
                requested_ms: 204_000,
                phases: 3,
                cap_ms: 200_000
            }
        );
        assert!(
            e.to_string().contains("raise the server's --max-duration"),
            "{e}"
        );
        assert!(RequestCaps::default().check(&r).is_ok());
        assert_eq!(
            TestRequest::tcp_stream(StdDuration::from_secs(5)).worst_case_ms(),
            5_000
        );
    }

    fn shared(kind: TestKind) -> TestRequest {
        let mut r = TestRequest::new(kind, StdDuration::from_secs(60));
        r.baseline_hold_ms = Some(5_000);
        r.shared_bucket = true;
        r
    }

    /// Issue 24, item 2: a shared-bucket request is one a server can run in both directions,
    /// or it is refused naming what to change; both phases count against the duration cap.
    #[test]
    fn a_shared_bucket_request_drains_one_direction_and_counts_both_phases() {
        for kind in [TestKind::TcpStream, TestKind::UdpStream] {
            let mut r = shared(kind);
            assert_eq!(r.validate(), Ok(()), "{kind:?}");
            r.flow = Flow::Reverse;
            assert_eq!(r.validate(), Ok(()), "{kind:?} reverse");
        }
        let refused = |r: TestRequest| r.validate().unwrap_err().to_string();
        let mut r = shared(TestKind::TcpStream);
        r.baseline_hold_ms = None;
        assert!(refused(r).contains("with a baseline hold"));
        let mut r = shared(TestKind::TcpStream);
        r.flow = Flow::Bidirectional;
        assert!(refused(r).contains("not --bidir"));
        let mut r = shared(TestKind::TcpStream);
        r.refill_idle_ms = vec![4_000];
        assert!(refused(r).contains("without --refill"));
        let mut r = shared(TestKind::TcpStream);
        r.omit_ms = 2_000;
        let e = refused(r);
        assert!(
            e.contains("without --omit (2 s)") && !e.contains("  "),
            "{e}"
        );
        let mut r = shared(TestKind::UdpStream);
        r.rate = None;
        let e = refused(r);
        assert!(
            e.contains("with a rate like 1G") && !e.contains("  "),
            "{e}"
        );
        let mut r = shared(TestKind::TcpRr);
        r.baseline_hold_ms = None;
        assert!(refused(r).contains(
            "--shared-bucket applies to one direction of tcp-stream or udp-stream, not tcp-rr"
        ));
        // The drain and the other direction at 60 s each.
        let r = shared(TestKind::TcpStream);
        assert_eq!((r.phases(), r.worst_case_ms()), (2, 120_000));
        let caps = RequestCaps {
            max_duration_ms: 100_000,
            ..Default::default()
        };
        let e = caps.check(&r).unwrap_err();
        assert_eq!(
            e,
            Refusal::RefillDuration {
                requested_ms: 120_000,
                phases: 2,
                cap_ms: 100_000
            }
        );
        assert!(
            e.to_string()
                .contains("shared-bucket test's two directions"),
            "{e}"
        );
    }

    #[test]
    fn busy_poll_is_for_closed_loop_round_trips_only() {
        for kind in [TestKind::TcpRr, TestKind::UdpRr] {
            let mut r = req(kind);
            r.busy_poll = true;
            assert!(r.validate().is_ok(), "{kind:?}");
            r.rate = Some(1000);
            let e = r.validate().unwrap_err().to_string();
            assert!(e.contains("with --rate (open loop)"), "{e}");
        }
        for kind in [TestKind::TcpStream, TestKind::UdpStream, TestKind::TcpCrr] {
            let mut r = req(kind);
            r.busy_poll = true;
            let e = r.validate().unwrap_err().to_string();
            assert!(
                e.contains(&format!("not {}; remove it", kind.name())),
                "{e}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for k in TestKind::ALL {
            assert_eq!(k.name().parse::<TestKind>().unwrap(), k);
        }
        for w in ReceiveWait::ALL {
            assert_eq!(w.name().parse::<ReceiveWait>().unwrap(), w);
        }
        assert!("quic"
            .parse::<TestKind>()
            .unwrap_err()
            .contains("tcp-stream"));
    }
}
