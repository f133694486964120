//! The report model: what a merged run says, in types every output reads.
//!
//! [`crate::merge`] folds stored records into one [`Merged`] document (the [`Summary`] plus the
//! merged histograms, interval series, hosts and cache plateaus the page draws); the table,
//! JSON, CSV, Markdown, HTML and `.hgrm` formats ([`crate::export`]) and `compare` read only
//! that. This module holds no fold and no formatting of tables: a new metric is a field here,
//! a line in the fold and a column in one table builder.
//!
//! Rows are keyed by a typed [`Placement`] (size and architecture), never by a label parsed
//! back; each row kind says its own headline figure ([`NetRow::headline`],
//! [`MemRow::headline`]), so every output quotes the same number.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use probe_core::report::Direction;
use probe_core::stats::SampleSummary;
use probe_core::{HistogramSummary, LatencyHistogram};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sizes::{Arch, Capacity, TaskSize};
use crate::store::RunMeta;

mod bucket_sharing;
pub(crate) mod loaded;
mod refill;
mod startup;
pub use self::bucket_sharing::SharedBucketRow;
pub use self::loaded::{LoadedRow, LoadedStageRow};
pub use self::refill::{RefillIdle, RefillRow};
pub use self::startup::{Distribution, StartupRow};

/// Version of the summary JSON.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// Where a row ran: a task size, and its architecture in a run that crosses architectures.
///
/// Ordered by size (vCPU, then memory), x86 before ARM64 at one size: the order every report
/// lists rows in. Written as reports always named it (`1x2`, `1x2 ARM64`), in text and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Placement {
    /// The task size.
    pub size: TaskSize,
    /// The architecture, when the run named its architectures.
    pub arch: Option<Arch>,
}

impl Placement {
    /// Where a stored item ran: its size as the suite wrote it, and its architecture.
    ///
    /// # Errors
    /// The size is not a Fargate size (a results file edited by hand, or from another tool).
    pub fn of(size: &str, arch: Option<Arch>) -> crate::Result<Placement> {
        Ok(Placement {
            size: TaskSize::parse(size)?,
            arch,
        })
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arch {
            Some(a) => write!(f, "{} {a}", self.size),
            None => write!(f, "{}", self.size),
        }
    }
}

impl FromStr for Placement {
    type Err = String;

    fn from_str(text: &str) -> Result<Placement, String> {
        let mut parts = text.split(' ');
        let size = parts.next().unwrap_or_default();
        let size = TaskSize::parse(size).map_err(|e| e.to_string())?;
        let arch = parts.next().map(Arch::parse).transpose()?;
        if parts.next().is_some() {
            return Err(format!(
                "{text:?} is not a placement: write a size and an optional architecture \
                 (`1x2`, `1x2 ARM64`)"
            ));
        }
        Ok(Placement { size, arch })
    }
}

impl Serialize for Placement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Placement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Placement, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A [`TaskSize`] written as reports write it (`1x2`), not as its fields.
mod size_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(size: &TaskSize, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(size)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TaskSize, D::Error> {
        let text = String::deserialize(d)?;
        TaskSize::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The unit of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Bits per second (network throughput).
    #[serde(rename = "bit/s")]
    BitsPerSec,
    /// Bytes per second (memory bandwidth, decimal GB/s).
    #[serde(rename = "B/s")]
    BytesPerSec,
    /// Transactions per second (request/response tests).
    #[serde(rename = "transactions/s")]
    TransactionsPerSec,
    /// Nanoseconds (a round trip's percentile, how long a burst lasted).
    #[serde(rename = "ns")]
    Nanoseconds,
}

impl Unit {
    /// A value in the unit people read (`7.08 Gbit/s`, `12.1 GB/s`, `26164/s`).
    pub fn format(self, v: f64) -> String {
        use probe_core::units::{format_bits_per_sec, format_bytes_per_sec};
        match self {
            Unit::BitsPerSec => format_bits_per_sec(v),
            Unit::BytesPerSec => format_bytes_per_sec(v),
            Unit::TransactionsPerSec => format!("{v:.0}/s"),
            Unit::Nanoseconds => probe_core::units::format_ns(v),
        }
    }

    /// A value per USD per task-hour, as Gbit/s, GB/s or transactions/s per $/h.
    pub fn format_per_dollar(self, v: f64) -> String {
        match self {
            Unit::TransactionsPerSec | Unit::Nanoseconds => format!("{v:.0}"),
            Unit::BitsPerSec | Unit::BytesPerSec => format!("{:.1}", v / 1e9),
        }
    }
}

/// Which of a row's figures is its headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureKind {
    /// The rate a token bucket settles to: the figure to quote where a bucket was found.
    Baseline,
    /// Receiver throughput over the whole measured window (no bucket seen).
    Throughput,
    /// Transactions per second of a request/response test.
    Transactions,
    /// The best pass of a memory kernel (STREAM's figure).
    Best,
    /// What a memory kernel sustains: the figure where a CPU quota throttled it.
    Sustained,
}

impl FigureKind {
    /// The word reports print beside the figure.
    pub fn name(self) -> &'static str {
        match self {
            FigureKind::Baseline => "baseline",
            FigureKind::Throughput => "throughput",
            FigureKind::Transactions => "transactions",
            FigureKind::Best => "best",
            FigureKind::Sustained => "sustained",
        }
    }
}

/// A row's headline: the one figure every output, `compare` and the architecture table quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headline<'a> {
    /// Which figure.
    pub kind: FigureKind,
    /// Its values over repetitions.
    pub value: &'a SampleSummary,
    /// Its unit.
    pub unit: Unit,
}

/// Where prices came from and which apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// AWS Region of the price table.
    pub region: String,
    /// The architecture priced when a row names none.
    pub arch: Arch,
    /// Date of the price table.
    pub as_of: String,
    /// On demand or Spot.
    #[serde(default)]
    pub capacity: Capacity,
    /// Why no price applies, when none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// A network result row: one test, placement and direction over all repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetRow {
    /// Test label.
    pub test: String,
    /// Test kind (`tcp-stream`, `tcp-rr`, ...).
    pub kind: String,
    /// Where it ran (`1x2`, or `1x2 ARM64` in a run that crosses architectures).
    pub size: Placement,
    /// The architecture, in a run that crosses architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// Direction for bulk tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Repetitions merged.
    pub repetitions: u64,
    /// Receiver throughput per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_bits_per_sec: Option<SampleSummary>,
    /// Percentiles of all round trips of all repetitions (merged histograms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<HistogramSummary>,
    /// Each repetition's own percentiles, over repetitions: `rtt` pools every round trip into
    /// one figure, these give its spread from task to task and an interval to judge it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_percentiles: Option<RttPercentiles>,
    /// Transactions per second per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions_per_sec: Option<SampleSummary>,
    /// Lost over sent, all repetitions together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_loss_ratio: Option<f64>,
    /// Of the sent datagrams, the share the receiving socket dropped (its buffer was full):
    /// loss in the receiving task rather than on the path. Absent when no probe could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_receiver_drop_ratio: Option<f64>,
    /// RFC 3550 jitter per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_jitter_ns: Option<SampleSummary>,
    /// TCP retransmits, all streams and repetitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u64>,
    /// USD per hour of one task of this size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
    /// Median Gbit/s per USD per task-hour of the headline (bulk tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbit_per_sec_per_dollar_hour: Option<f64>,
    /// How many repetitions' series read as each regime (`burst_then_baseline`, `flat`,
    /// `undecided`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regimes: BTreeMap<String, u64>,
    /// Burst and baseline over the repetitions that showed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<BucketRow>,
    /// How fast the drained bucket refilled, over the repetitions of a refill test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<RefillRow>,
    /// Round trips beside the stream per regime, and whether its limit queues or drops, over
    /// the repetitions that probed (`latency_under_load` in the suite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_under_load: Option<LoadedRow>,
    /// One bucket or two, over the repetitions of a shared-bucket test that drained this
    /// row's direction first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_sharing: Option<SharedBucketRow>,
}

impl NetRow {
    /// The figure to quote: the baseline where a bucket was seen (a mean over burst and
    /// baseline describes neither), else the throughput, else the transaction rate.
    pub fn headline(&self) -> Option<Headline<'_>> {
        let (kind, value, unit) = match (
            &self.bucket,
            &self.throughput_bits_per_sec,
            &self.transactions_per_sec,
        ) {
            (Some(b), _, _) => (
                FigureKind::Baseline,
                &b.baseline_bits_per_sec,
                Unit::BitsPerSec,
            ),
            (None, Some(t), _) => (FigureKind::Throughput, t, Unit::BitsPerSec),
            (None, None, Some(t)) => (FigureKind::Transactions, t, Unit::TransactionsPerSec),
            (None, None, None) => return None,
        };
        Some(Headline { kind, value, unit })
    }

    /// What the row measured, in words: `tcp-stream client->server`, `tcp-rr`.
    pub fn what(&self) -> String {
        match self.direction {
            Some(d) => format!("{} {}", self.test, direction_name(d)),
            None => self.test.clone(),
        }
    }
}

/// Round-trip percentiles of each repetition alone (its own histogram), over repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RttPercentiles {
    /// Median round trip.
    pub p50_ns: SampleSummary,
    /// 90th percentile.
    pub p90_ns: SampleSummary,
    /// 99th percentile.
    pub p99_ns: SampleSummary,
    /// 99.9th percentile.
    pub p99_9_ns: SampleSummary,
}

/// A direction as reports write it.
pub fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::ClientToServer => "client->server",
        Direction::ServerToClient => "server->client",
    }
}

/// A token bucket over repetitions: each figure's median, spread and interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketRow {
    /// Repetitions that showed a burst then a baseline.
    pub repetitions: u64,
    /// Burst rate.
    pub burst_bits_per_sec: SampleSummary,
    /// How long the burst lasted (from the start of the measured window).
    pub burst_duration_ns: SampleSummary,
    /// Bytes above the baseline during the burst: the bucket.
    pub burst_bytes_above_baseline: SampleSummary,
    /// Baseline rate: the headline of such a row.
    pub baseline_bits_per_sec: SampleSummary,
    /// Median burst Gbit/s per USD per task-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_gbit_per_sec_per_dollar_hour: Option<f64>,
}

/// A memory bandwidth row: one kernel, store variant and thread count at one placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemRow {
    /// Where it ran.
    pub size: Placement,
    /// The architecture, in a run that crosses architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// Kernel (`copy`, `scale`, `add`, `triad`, ...).
    pub kernel: String,
    /// Store variant.
    pub stores: String,
    /// Workers.
    pub threads: u32,
    /// Each repetition's best pass (STREAM's figure), bytes per second.
    pub best_bytes_per_sec: SampleSummary,
    /// Each repetition's sustained rate.
    pub sustained_bytes_per_sec: SampleSummary,
    /// USD per hour of one task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
    /// Median GB/s per USD per hour of the headline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gb_per_sec_per_dollar_hour: Option<f64>,
    /// A CPU quota throttled this kernel: its best pass is a burst, and the headline and the
    /// cost efficiency use the sustained figure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quota_throttled: bool,
}

/// STREAM's headline kernel, the one cost and architecture comparisons use (the other
/// kernels tell the same story).
pub const HEADLINE_KERNEL: &str = "triad";

impl MemRow {
    /// The figure to quote: what the kernel sustains where a CPU quota throttled it (CFS
    /// bandwidth control is a token bucket too: a best pass inside one period is its burst),
    /// else its best pass.
    pub fn headline(&self) -> Headline<'_> {
        let (kind, value) = if self.quota_throttled {
            (FigureKind::Sustained, &self.sustained_bytes_per_sec)
        } else {
            (FigureKind::Best, &self.best_bytes_per_sec)
        };
        Headline {
            kind,
            value,
            unit: Unit::BytesPerSec,
        }
    }

    /// What the row measured, in words: `memory triad temporal x4`.
    pub fn what(&self) -> String {
        format!("memory {} {} x{}", self.kernel, self.stores, self.threads)
    }
}

/// A point of the memory latency curve over repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Where it ran.
    pub size: Placement,
    /// Working set.
    pub working_set_bytes: u64,
    /// Huge pages.
    pub huge_pages: bool,
    /// ns per load per repetition.
    pub ns_per_load: SampleSummary,
}

/// A failed item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Item id.
    pub id: String,
    /// Why it failed.
    pub reason: String,
}

/// One figure on both architectures at one size ("Graviton or x86, at this size").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchComparison {
    /// What was measured: `tcp-stream client->server baseline`, `memory triad temporal x4`.
    pub what: String,
    /// The size (without architecture), written `1x2`.
    #[serde(with = "size_text")]
    pub size: TaskSize,
    /// Unit of the two figures.
    pub unit: Unit,
    /// The X86_64 figure (median over repetitions).
    pub x86: f64,
    /// The ARM64 figure.
    pub arm: f64,
    /// The X86_64 figure per USD per task-hour, when priced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x86_per_dollar_hour: Option<f64>,
    /// The ARM64 figure per USD per task-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_per_dollar_hour: Option<f64>,
    /// ARM64's figure per dollar over X86_64's (above 1: Graviton gives more per dollar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_over_x86_per_dollar: Option<f64>,
    /// The answer in words.
    pub verdict: String,
}

/// How many of a placement's tasks ran on one CPU generation
/// ([`probe_core::host::HostFacts::cpu_generation`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationShare {
    /// Where the tasks ran.
    pub size: Placement,
    /// The generation (`AMD EPYC 7R13 (Milan)`, `Graviton3 (Neoverse-V1)`), or
    /// [`UNKNOWN_GENERATION`].
    pub generation: String,
    /// Tasks (probe reports) on it: a network item is two tasks, a memory item one.
    pub tasks: u64,
    /// Its share of the placement's tasks, 0 to 1.
    pub share: f64,
}

/// The generation of a task whose report named no CPU.
pub const UNKNOWN_GENERATION: &str = "CPU not recorded";

/// The figures of one placement's items that ran on one CPU generation, where that placement's
/// items ran on more than one: a median over generations describes none of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRows {
    /// Where they ran.
    pub size: Placement,
    /// The generation; a network item whose two tasks ran on different ones is keyed by both
    /// (`A + B`, sorted).
    pub generation: String,
    /// Items on it.
    pub items: u64,
    /// Tasks of those items.
    pub tasks: u64,
    /// Their network rows, as the all-tasks rows but over these items alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetRow>,
    /// Their memory bandwidth rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_bandwidth: Vec<MemRow>,
}

/// Everything the tables of a report show (the summary JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The run.
    pub run: RunMeta,
    /// Prices used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    /// Network rows, by test then placement.
    pub network: Vec<NetRow>,
    /// Memory bandwidth rows, by placement.
    pub memory_bandwidth: Vec<MemRow>,
    /// Memory latency curve, by placement.
    pub memory_latency: Vec<CurvePoint>,
    /// Figures measured on both architectures at one size, per dollar, with a verdict (runs
    /// that cross architectures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<ArchComparison>,
    /// The CPU generations each placement's tasks ran on, with their shares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_generations: Vec<GenerationShare>,
    /// Each figure per CPU generation, at the placements whose items ran on more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_generation: Vec<GenerationRows>,
    /// What the backend emulated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emulated: Vec<String>,
    /// Items that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// How long tasks took from the launch request to running, per placement (runs recorded
    /// since issue 25).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup: Vec<StartupRow>,
    /// Items that finished fine.
    pub items_ok: u64,
    /// What a reader should look at before trusting a figure (repetitions outside Tukey's
    /// fences, records left out, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Summary {
    /// The network row of a test at a placement and direction.
    pub fn network_row(
        &self,
        test: &str,
        placement: Placement,
        direction: Option<Direction>,
    ) -> Option<&NetRow> {
        self.network
            .iter()
            .find(|r| r.test == test && r.size == placement && r.direction == direction)
    }

    /// The CPU generations of a placement's tasks, most tasks first.
    pub fn generation_mix(&self, placement: Placement) -> Vec<&GenerationShare> {
        let mut mix: Vec<&GenerationShare> = self
            .cpu_generations
            .iter()
            .filter(|g| g.size == placement)
            .collect();
        mix.sort_by(|a, b| b.tasks.cmp(&a.tasks).then(a.generation.cmp(&b.generation)));
        mix
    }

    /// Whether a placement's figures are also given per generation ([`Summary::by_generation`]).
    pub fn split_by_generation(&self, placement: Placement) -> bool {
        self.by_generation.iter().any(|g| g.size == placement)
    }
}

/// The round trips of one request/response test at one placement, over every repetition.
#[derive(Debug, Clone)]
pub struct MergedLatency {
    /// Test label.
    pub test: String,
    /// Where it ran.
    pub placement: Placement,
    /// Every round trip (corrected for coordinated omission in open-loop runs).
    pub rtt: LatencyHistogram,
    /// The raw, uncorrected round trips of open-loop runs.
    pub uncorrected: Option<LatencyHistogram>,
}

/// One interval sample of a bulk test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalPoint {
    /// Start, from the start of the measured window.
    pub start_ns: u64,
    /// Length.
    pub duration_ns: u64,
    /// Rate over the interval.
    pub bits_per_sec: f64,
    /// Latency under load: the 99th percentile round trip of the probes sent in the interval
    /// beside the stream, when the test probed and one came back.
    pub probe_p99_ns: Option<u64>,
}

/// Every repetition's interval samples of one bulk test, placement and direction.
#[derive(Debug, Clone)]
pub struct Series {
    /// Test label.
    pub test: String,
    /// Where it ran.
    pub placement: Placement,
    /// Direction of the samples.
    pub direction: Direction,
    /// `(repetition, samples)` in the order the records were read.
    pub repetitions: Vec<(u32, Vec<IntervalPoint>)>,
}

/// The host under one role of one placement, as its first report saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    /// Where it ran.
    pub placement: Placement,
    /// `client`, `server` or `standalone`.
    pub role: String,
    /// CPU generation ([`probe_core::host::HostFacts::cpu_generation`]), else the
    /// architecture.
    pub cpu: String,
    /// The architecture the probe reported, when it is one Fargate runs: a run that names no
    /// architecture ran on this one.
    pub arch: Option<Arch>,
    /// The cgroup CPU quota, in vCPU.
    pub cpu_limit: Option<f64>,
    /// The cgroup memory limit.
    pub memory_limit_bytes: Option<u64>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// Availability zone (ECS).
    pub zone: Option<String>,
    /// Fargate platform version (ECS), from the task metadata.
    pub platform_version: Option<String>,
    /// The kernel's clock source.
    pub clocksource: Option<String>,
    /// The hypervisor, where the guest could tell.
    pub hypervisor: Option<String>,
}

/// A cache plateau a memory probe detected at one placement (the first report to see it).
#[derive(Debug, Clone, PartialEq)]
pub struct Plateau {
    /// Where it ran.
    pub placement: Placement,
    /// `L1`, `L2`, `L3`, `DRAM`.
    pub level: String,
    /// Largest working set still on it.
    pub up_to_bytes: u64,
    /// Typical latency on it.
    pub ns_per_load: f64,
}

/// The one merged document of a run: the [`Summary`] and what the page and `.hgrm` draw, all
/// from one pass over the records. No output reads records.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The tables' content (the summary JSON).
    pub summary: Summary,
    /// Merged round-trip histograms, by placement then test.
    pub latency: Vec<MergedLatency>,
    /// Interval series of bulk tests, by test then placement.
    pub series: Vec<Series>,
    /// Hosts, by placement then role.
    pub hosts: Vec<HostRow>,
    /// Cache plateaus, by placement.
    pub plateaus: Vec<Plateau>,
    /// The last output lines of each failed item, by item id.
    pub failed_output: BTreeMap<String, Vec<String>>,
}

#[cfg(test)]
mod tests;
