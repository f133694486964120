//! The versioned report every probe task produces.
//!
//! Field names carry their unit. Every `Option` is skipped when `None`, so a JSON `null` never
//! appears: [`crate::result_line::encode`] relies on that to catch a `NaN` or infinity (which
//! serde_json would otherwise write as `null`) before it leaves the probe.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::histogram::{HistogramSummary, LatencyHistogram};
use crate::host::HostFacts;

/// Version of the report schema. Bump it on any incompatible change; the controller refuses
/// lines of another version with a message that says to use matching releases.
pub const SCHEMA_VERSION: u32 = 1;

/// What part a task played in a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The netprobe side that connects and drives the test.
    Client,
    /// The netprobe side that accepts.
    Server,
    /// A probe that measures alone (memprobe).
    Standalone,
}

/// Which way data flowed, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client sends, server receives.
    ClientToServer,
    /// Server sends, client receives (`--reverse`).
    ServerToClient,
}

/// Name and version of the program that produced a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// `netprobe` or `memprobe` (or another tool using these crates).
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The test that ran and every parameter that shaped it, exactly as in effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestInfo {
    /// Kind, e.g. `tcp-stream`, `udp-rr`, `memory`.
    pub kind: String,
    /// Parameters with units in their names (`duration_ns`, `message_bytes`, ...).
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// One probe task's complete result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Who wrote it.
    pub probe: ProbeInfo,
    /// Run this task belonged to, when a controller launched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Part played.
    pub role: Role,
    /// Test and parameters.
    pub test: TestInfo,
    /// Wall-clock start, RFC 3339 UTC (for humans and joins; durations come from a monotonic clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Length of the measured window, warm-up excluded.
    pub measured_duration_ns: u64,
    /// Machine and container context.
    #[serde(default)]
    pub host: HostFacts,
    /// The measurements.
    #[serde(default)]
    pub metrics: Metrics,
    /// Per-interval samples (1 s by default) so bursts and baselines stay visible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<IntervalSample>,
    /// Anything that makes the figures less trustworthy, in words a user can act on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// An empty report of the current schema version.
    pub fn new(probe: &str, version: &str, role: Role, kind: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            probe: ProbeInfo {
                name: probe.to_owned(),
                version: version.to_owned(),
            },
            run_id: None,
            role,
            test: TestInfo {
                kind: kind.to_owned(),
                parameters: BTreeMap::new(),
            },
            started_at: None,
            measured_duration_ns: 0,
            host: HostFacts::default(),
            metrics: Metrics::default(),
            intervals: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records where the probe ran; a probe that runs under emulation also says so in its
    /// warnings, so no reader takes its figures for the hardware's.
    pub fn set_host(&mut self, host: HostFacts) {
        if let Some(why) = &host.emulation {
            self.warnings.push(why.clone());
        }
        self.host = host;
    }

    /// Sets a test parameter (units belong in the key).
    pub fn set_parameter(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.test.parameters.insert(key.to_owned(), value.into());
    }
}

/// All measurement sections; a probe fills the ones its test produces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Bulk transfer results, one per direction (two for `--bidir`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throughput: Vec<Throughput>,
    /// Request/response latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyMetrics>,
    /// UDP delivery quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpMetrics>,
    /// CPU time spent by each side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu: Vec<CpuUsage>,
    /// Memory bandwidth, one entry per kernel, store variant and thread count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_bandwidth: Vec<BandwidthResult>,
    /// Load-to-use latency by working-set size.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_latency: Vec<LatencyPoint>,
    /// Memory-level parallelism at a DRAM-sized working set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_parallelism: Vec<ParallelismPoint>,
    /// Cache levels detected from the latency curve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_plateaus: Vec<CachePlateau>,
    /// A refill test's answer: how fast the token bucket drained in `throughput` fills again
    /// after each idle time ([`crate::refill::analyze`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<crate::refill::Refill>,
    /// One bucket or two: whether the other direction, measured right after `throughput`'s
    /// was drained, draws on the same bucket ([`crate::bucket_sharing::analyze`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_sharing: Option<crate::bucket_sharing::BucketSharing>,
    /// Latency under load: a low-rate round-trip probe beside the stream in `throughput`, per
    /// regime, and whether the limit queues or drops ([`crate::loaded_latency::analyze`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_under_load: Option<crate::loaded_latency::LoadedLatency>,
}

/// Bytes received in one direction over the measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Direction of the data.
    pub direction: Direction,
    /// Payload bytes the receiver counted in the window.
    pub received_bytes: u64,
    /// Window length.
    pub measured_ns: u64,
    /// `received_bytes * 8 / window`.
    pub bits_per_sec: f64,
    /// Per-stream detail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<StreamResult>,
    /// What the interval series holds: burst then baseline, flat, or undecided
    /// ([`crate::regime::detect`]). With a burst, `bits_per_sec` is the mean of two regimes and
    /// the baseline is the figure to quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regime: Option<crate::regime::Regime>,
}

/// One TCP connection's share of a bulk test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamResult {
    /// 0-based index.
    pub index: u32,
    /// Payload bytes received on this stream within the window.
    pub received_bytes: u64,
    /// Its rate.
    pub bits_per_sec: f64,
    /// Socket options read back from the sender's socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_socket: Option<SocketSettings>,
    /// Socket options read back from the receiver's socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_socket: Option<SocketSettings>,
    /// `TCP_INFO` of the sending socket at the end of the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_tcp_info: Option<TcpInfoSnapshot>,
}

/// Socket options actually in effect (read back after setting; the kernel doubles and clamps).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketSettings {
    /// `SO_SNDBUF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_buffer_bytes: Option<u64>,
    /// `SO_RCVBUF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_buffer_bytes: Option<u64>,
    /// `TCP_MAXSEG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mss_bytes: Option<u64>,
    /// `TCP_NODELAY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_delay: Option<bool>,
    /// `TCP_CONGESTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion: Option<String>,
}

/// The parts of Linux `TCP_INFO` that explain a throughput figure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpInfoSnapshot {
    /// Segments retransmitted over the connection's life.
    pub total_retransmits: u64,
    /// Smoothed round-trip time.
    pub srtt_ns: u64,
    /// Round-trip time variation.
    pub rttvar_ns: u64,
    /// Congestion window in segments.
    pub snd_cwnd_segments: u64,
    /// Sender MSS.
    pub snd_mss_bytes: u64,
    /// Path MTU.
    pub pmtu_bytes: u64,
    /// The kernel's delivery-rate estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_rate_bits_per_sec: Option<u64>,
}

/// Closed- or open-loop request/response latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyMetrics {
    /// `closed` (next request after the response) or `open` (fixed-rate schedule).
    pub mode: LoadMode,
    /// Requested transactions per second in open loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rate_per_sec: Option<f64>,
    /// Round trip in ns. In open loop measured from the *intended* send time, so a stall is
    /// charged to every request it delayed (coordinated-omission corrected).
    pub rtt: LatencyHistogram,
    /// Summary of `rtt`, for readers that do not decode histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_summary: Option<HistogramSummary>,
    /// Open loop only: round trip from the *actual* send time, uncorrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_uncorrected: Option<LatencyHistogram>,
    /// TCP connect time per transaction (`tcp-crr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<LatencyHistogram>,
    /// Completed transactions.
    pub transactions: u64,
    /// Completed transactions per second of window.
    pub transactions_per_sec: f64,
    /// Requests that got no response before their timeout (counted as lost, never waited on).
    #[serde(default)]
    pub timeouts: u64,
    /// Transactions that failed for another reason (connection refused, reset).
    #[serde(default)]
    pub errors: u64,
}

impl LatencyMetrics {
    /// Closed-loop metrics from a round-trip histogram; rates are filled by the caller.
    pub fn closed_loop(rtt: LatencyHistogram) -> Self {
        Self {
            mode: LoadMode::Closed,
            target_rate_per_sec: None,
            rtt_summary: rtt.summary(),
            transactions: rtt.count(),
            rtt,
            rtt_uncorrected: None,
            connect: None,
            transactions_per_sec: 0.0,
            timeouts: 0,
            errors: 0,
        }
    }
}

/// How requests are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// One request in flight; the next leaves when the response arrives.
    Closed,
    /// Requests leave on a fixed timer schedule whatever the responses do.
    Open,
}

/// What a UDP receiver saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UdpMetrics {
    /// Datagrams the sender sent in the window.
    pub sent_datagrams: u64,
    /// Distinct datagrams received.
    pub received_datagrams: u64,
    /// Sent but never received.
    pub lost_datagrams: u64,
    /// Received more than once.
    pub duplicate_datagrams: u64,
    /// Arrived after a higher sequence number.
    pub out_of_order_datagrams: u64,
    /// `lost / sent`.
    pub loss_ratio: f64,
    /// RFC 3550 interarrival jitter at the end of the test.
    pub jitter_ns: f64,
    /// Datagram payload size.
    pub datagram_bytes: u64,
    /// Of the lost datagrams, those the receiving socket dropped because its buffer was full:
    /// loss in the receiving host, not on the path (Linux; absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_socket_drops: Option<u64>,
    /// Sends that found the sender's own socket queue full: its interface or qdisc held it
    /// back (a limit in the sending host, which Fargate's network does not impose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_queue_full_sends: Option<u64>,
}

/// CPU time one side spent during the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// `client` or `server`.
    pub side: Role,
    /// User time.
    pub user_ns: u64,
    /// System time.
    pub system_ns: u64,
    /// Wall time it was measured over.
    pub wall_ns: u64,
    /// `(user + system) / (wall * effective CPUs)`: the share of what the cgroup quota allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of_quota: Option<f64>,
    /// Times this side's data threads slept and were woken (voluntary context switches); a
    /// blocking round trip costs each side about one, a busy-polling one none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voluntary_switches: Option<u64>,
    /// Payload bytes this side sent and received over the whole test, warm-up and tail
    /// included: what its CPU time was spent on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_bytes: Option<u64>,
    /// CPU seconds per 10^9 payload bytes moved (`(user + system) / moved_bytes`): the cost of
    /// a byte, which under a CPU quota decides the throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds_per_gb: Option<f64>,
    /// Round trips this side completed or answered over the whole test, warm-up included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trips: Option<u64>,
    /// CPU time per round trip (`(user + system) / round_trips`), waiting included: what a
    /// busy-polling side pays for its latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns_per_round_trip: Option<f64>,
    /// Time this side's cgroup was throttled by its CPU quota in each interval of the measured
    /// window (`cpu.stat`); absent where it cannot be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interval_throttled_ns: Vec<u64>,
    /// Time the hypervisor stole from this side's host (all CPUs) in each interval
    /// (`/proc/stat`, 10 ms resolution); absent where it cannot be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interval_steal_ns: Vec<u64>,
}

/// One memory bandwidth figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandwidthResult {
    /// `copy`, `scale`, `add`, `triad`, `read`, `write` or `memcpy`.
    pub kernel: String,
    /// `cached`, `nontemporal` or `libc`.
    pub stores: String,
    /// The code that moved the bytes, e.g. `avx512-nt`, `avx2`, `scalar`, `libc-memcpy`.
    pub implementation: String,
    /// Worker threads.
    pub threads: u32,
    /// Bytes in all arrays together.
    pub array_bytes: u64,
    /// STREAM-accounted bytes per pass.
    pub bytes_per_pass: u64,
    /// Timed passes (the discarded first pass not included).
    pub passes: u32,
    /// Best pass (STREAM's figure), STREAM accounting.
    pub best_bytes_per_sec: f64,
    /// Median pass.
    pub median_bytes_per_sec: f64,
    /// Worst pass.
    pub worst_bytes_per_sec: f64,
    /// Coefficient of variation of pass rates.
    pub cv: f64,
    /// Best pass counted as bus traffic: cached stores also pay a read for ownership.
    pub bus_bytes_per_sec: f64,
    /// STREAM-accounted bytes over wall time across all passes, throttled periods included.
    pub sustained_bytes_per_sec: f64,
    /// CFS periods throttled while this kernel ran (cgroup `cpu.stat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_periods: Option<u64>,
    /// Time throttled while this kernel ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_ns: Option<u64>,
}

/// Average load-to-use latency at one working-set size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyPoint {
    /// Bytes the chase walks through.
    pub working_set_bytes: u64,
    /// Nanoseconds per dependent load.
    pub ns_per_load: f64,
    /// Whether the buffer was backed by transparent huge pages (checked in smaps).
    pub huge_pages: bool,
}

/// Loads per second with several independent chains in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParallelismPoint {
    /// Independent chains walked together.
    pub chains: u32,
    /// Working set.
    pub working_set_bytes: u64,
    /// Average time between completed loads.
    pub ns_per_load: f64,
    /// Speed-up against one chain.
    pub speedup: f64,
}

/// A flat stretch of the latency curve: one level of the memory hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachePlateau {
    /// `L1`, `L2`, `L3`, `DRAM` (in order of detection).
    pub level: String,
    /// Largest working set still on this plateau.
    pub up_to_bytes: u64,
    /// Typical latency on it.
    pub ns_per_load: f64,
    /// What sysfs claims for this level, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_bytes: Option<u64>,
}

/// One interval's sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalSample {
    /// Direction, for bulk tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Start, relative to the start of the measured window.
    pub start_ns: u64,
    /// Length.
    pub duration_ns: u64,
    /// Payload bytes received (bulk tests).
    #[serde(default)]
    pub bytes: u64,
    /// Rate over the interval.
    #[serde(default)]
    pub bits_per_sec: f64,
    /// Transactions completed (request/response tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<u64>,
    /// A side was short of CPU in this interval: its cgroup was throttled, or the hypervisor
    /// stole time, for a noticeable share of it. A drop here is the CPU's, not the network's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cpu_bound: bool,
}
