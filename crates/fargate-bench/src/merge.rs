//! Merges finished items into one summary: throughput spread and confidence intervals over
//! repetitions, latency percentiles from merged histograms (never averaged), UDP loss over all
//! datagrams, memory bandwidth per kernel and thread count, the latency curve, and cost.

use std::collections::BTreeMap;

use probe_core::report::Direction;
use probe_core::stats::SampleSummary;
use probe_core::{HistogramSummary, LatencyHistogram};
use serde::{Deserialize, Serialize};

use crate::sizes::{parse_placement, placement_order, Arch, Capacity, Prices};
use crate::store::{ItemRecord, ItemStatus, RunMeta};

/// Version of the summary JSON.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// Where prices came from and which apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// Region.
    pub region: String,
    /// Architecture.
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

/// A network result row: one test, size and direction over all repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetRow {
    /// Test label.
    pub test: String,
    /// Kind.
    pub kind: String,
    /// Size, followed by the architecture in a run that crosses architectures (`1x2 ARM64`).
    pub size: String,
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
    /// Median Gbit/s per USD per task-hour: of the baseline where a bucket was seen, else of
    /// the throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbit_per_sec_per_dollar_hour: Option<f64>,
    /// How many repetitions' series read as each regime (`burst_then_baseline`, `flat`,
    /// `undecided`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regimes: BTreeMap<String, u64>,
    /// Burst and baseline over the repetitions that showed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<BucketRow>,
}

/// A token bucket over repetitions: each figure's median, spread and CI.
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

impl NetRow {
    /// The figure to quote: the baseline where a bucket was seen (a mean over burst and
    /// baseline describes neither), else the throughput; with its label.
    pub fn headline(&self) -> Option<(&'static str, &SampleSummary)> {
        match (&self.bucket, &self.throughput_bits_per_sec) {
            (Some(b), _) => Some(("baseline", &b.baseline_bits_per_sec)),
            (None, Some(t)) => Some(("throughput", t)),
            (None, None) => None,
        }
    }
}

#[derive(Default)]
struct BucketAcc {
    burst: Vec<f64>,
    duration: Vec<f64>,
    bytes: Vec<f64>,
    baseline: Vec<f64>,
}

impl BucketAcc {
    fn add(&mut self, b: &probe_core::regime::BurstBaseline) {
        self.burst.push(b.burst_bits_per_sec);
        self.duration.push(b.burst_duration_ns as f64);
        self.bytes.push(b.burst_bytes_above_baseline as f64);
        self.baseline.push(b.baseline_bits_per_sec.median);
    }

    fn row(&self, cost: Option<f64>) -> Option<BucketRow> {
        let burst = SampleSummary::from_values(&self.burst)?;
        Some(BucketRow {
            repetitions: self.burst.len() as u64,
            burst_gbit_per_sec_per_dollar_hour: cost
                .filter(|c| *c > 0.0)
                .map(|c| burst.median / 1e9 / c),
            burst_bits_per_sec: burst,
            burst_duration_ns: SampleSummary::from_values(&self.duration)?,
            burst_bytes_above_baseline: SampleSummary::from_values(&self.bytes)?,
            baseline_bits_per_sec: SampleSummary::from_values(&self.baseline)?,
        })
    }
}

fn verdict_name(r: &probe_core::regime::Regime) -> &'static str {
    use probe_core::regime::Regime;
    match r {
        Regime::BurstThenBaseline(_) => "burst_then_baseline",
        Regime::Flat { .. } => "flat",
        Regime::Undecided { .. } => "undecided",
    }
}

/// A memory bandwidth row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemRow {
    /// Size, followed by the architecture in a run that crosses architectures (`1x2 ARM64`).
    pub size: String,
    /// The architecture, in a run that crosses architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// Kernel.
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
    /// Median GB/s per USD per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gb_per_sec_per_dollar_hour: Option<f64>,
    /// A CPU quota throttled this kernel: its best pass is a burst, and the headline and the
    /// cost efficiency use the sustained figure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quota_throttled: bool,
}

/// A point of the memory latency curve over repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Size.
    pub size: String,
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
    /// Why.
    pub reason: String,
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The run.
    pub run: RunMeta,
    /// Prices used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    /// Network rows.
    pub network: Vec<NetRow>,
    /// Memory bandwidth rows.
    pub memory_bandwidth: Vec<MemRow>,
    /// Memory latency curve.
    pub memory_latency: Vec<CurvePoint>,
    /// Figures measured on both architectures at one size, per dollar, with a verdict (runs
    /// that cross architectures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<crate::versus::ArchComparison>,
    /// What the backend emulated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emulated: Vec<String>,
    /// Items that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Items that finished fine.
    pub items_ok: u64,
    /// What a reader should look at before trusting a figure (repetitions outside Tukey's
    /// fences, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A warning for each figure whose repetitions hold an outlier: kept in the figure, named here.
fn outlier_warnings(network: &[NetRow], memory: &[MemRow]) -> Vec<String> {
    use probe_core::units::{format_bits_per_sec, format_bytes_per_sec};
    let mut out = Vec::new();
    let mut say = |what: String, s: &SampleSummary, fmt: &dyn Fn(f64) -> String| {
        if !s.outliers.is_empty() {
            let values: Vec<String> = s.outliers.iter().map(|v| fmt(*v)).collect();
            out.push(format!(
                "{what}: repetition(s) at {} lie outside Tukey's fences of the other {} (median \
                 {}); a noisy neighbour or throttling? the figure keeps them; look at \
                 results.jsonl or run more repetitions",
                values.join(", "),
                s.n as usize - s.outliers.len(),
                fmt(s.median)
            ));
        }
    };
    for r in network {
        if let Some(t) = &r.throughput_bits_per_sec {
            say(format!("{} at {}", r.test, r.size), t, &format_bits_per_sec);
        }
        if let Some(t) = &r.transactions_per_sec {
            say(
                format!("{} at {} transactions/s", r.test, r.size),
                t,
                &|v| format!("{v:.0}/s"),
            );
        }
    }
    for m in memory {
        say(
            format!("{} {} x{} at {}", m.kernel, m.stores, m.threads, m.size),
            &m.best_bytes_per_sec,
            &format_bytes_per_sec,
        );
    }
    out
}

/// (size, kernel, stores, threads) -> (best per repetition, sustained per repetition).
/// The third part says whether a CPU quota throttled the kernel in any repetition.
type MemAcc = BTreeMap<(String, String, String, u32), (Vec<f64>, Vec<f64>, bool)>;

#[derive(Default)]
struct NetAcc {
    kind: String,
    reps: u64,
    bps: Vec<f64>,
    rtt: Option<LatencyHistogram>,
    tps: Vec<f64>,
    sent: u64,
    lost: u64,
    socket_drops: Option<u64>,
    jitter: Vec<f64>,
    retransmits: Option<u64>,
    regimes: BTreeMap<String, u64>,
    bucket: BucketAcc,
    may_be_burst_only: bool,
}

/// Builds the summary. `prices` of `None` leaves cost columns out.
pub fn summarize(meta: &RunMeta, records: &[ItemRecord], prices: Option<&Prices>) -> Summary {
    let mut summarizer = Summarizer::new();
    for rec in records {
        summarizer.add(rec);
    }
    summarizer.finish(meta, prices)
}

/// Folds records into a summary one at a time, keeping only what the summary needs (merged
/// histograms, one number per repetition), so a report over 10,000 items never holds them
/// all ([`crate::store::fold_records`] reads them one by one).
#[derive(Default)]
pub struct Summarizer {
    net: BTreeMap<(String, String, Option<Direction>), NetAcc>,
    mem: MemAcc,
    curve: BTreeMap<(String, bool, u64), Vec<f64>>,
    emulated: Vec<String>,
    /// A probe ran under CPU emulation: comparisons are functional only.
    emulated_cpu: bool,
    failures: Vec<Failure>,
    ok: u64,
}

impl std::fmt::Debug for Summarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summarizer")
            .field("items_ok", &self.ok)
            .field("failures", &self.failures.len())
            .finish_non_exhaustive()
    }
}

impl Summarizer {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one record (the latest of its item).
    pub fn add(&mut self, rec: &ItemRecord) {
        let Self {
            net,
            mem,
            curve,
            emulated,
            emulated_cpu,
            failures,
            ok,
        } = self;
        *emulated_cpu |= rec.reports.iter().any(|r| r.host.emulation.is_some());
        let under_emulation = rec.reports.iter().filter_map(|r| {
            r.host.emulation.as_ref().map(|_| {
                format!(
                    "cpu: {} probes ran under emulation (qemu-user), so their figures are \
                     functional only",
                    r.host.architecture
                )
            })
        });
        for e in rec.emulated.iter().cloned().chain(under_emulation) {
            if !emulated.contains(&e) {
                emulated.push(e);
            }
        }
        if rec.status == ItemStatus::Failed {
            failures.push(Failure {
                id: rec.id.clone(),
                reason: rec.reason.clone().unwrap_or_default(),
            });
            return;
        }
        *ok += 1;
        let Some(report) = rec.reports.first() else {
            return;
        };
        let m = &report.metrics;
        if !m.throughput.is_empty() {
            for t in &m.throughput {
                let acc = net
                    .entry((rec.label.clone(), rec.placement(), Some(t.direction)))
                    .or_default();
                acc.kind = rec.kind.clone();
                acc.reps += 1;
                acc.bps.push(t.bits_per_sec);
                if let Some(r) = &t.regime {
                    *acc.regimes.entry(verdict_name(r).to_owned()).or_default() += 1;
                    match r {
                        probe_core::regime::Regime::BurstThenBaseline(b) => acc.bucket.add(b),
                        probe_core::regime::Regime::Flat {
                            may_be_burst_only, ..
                        } => acc.may_be_burst_only |= may_be_burst_only,
                        probe_core::regime::Regime::Undecided { .. } => {}
                    }
                }
                let retrans: u64 = t
                    .streams
                    .iter()
                    .filter_map(|s| s.sender_tcp_info.as_ref())
                    .map(|i| i.total_retransmits)
                    .sum();
                if t.streams.iter().any(|s| s.sender_tcp_info.is_some()) {
                    *acc.retransmits.get_or_insert(0) += retrans;
                }
                if let Some(u) = &m.udp {
                    acc.sent += u.sent_datagrams;
                    acc.lost += u.lost_datagrams;
                    if let Some(d) = u.receiver_socket_drops {
                        *acc.socket_drops.get_or_insert(0) += d;
                    }
                    acc.jitter.push(u.jitter_ns);
                }
            }
        } else if let Some(lat) = &m.latency {
            let acc = net
                .entry((rec.label.clone(), rec.placement(), None))
                .or_default();
            acc.kind = rec.kind.clone();
            acc.reps += 1;
            acc.tps.push(lat.transactions_per_sec);
            match acc.rtt.as_mut() {
                Some(h) => {
                    let _ = h.merge(&lat.rtt);
                }
                None => acc.rtt = Some(lat.rtt.clone()),
            }
        }
        for b in &m.memory_bandwidth {
            let e = mem
                .entry((
                    rec.placement(),
                    b.kernel.clone(),
                    b.stores.clone(),
                    b.threads,
                ))
                .or_default();
            e.0.push(b.best_bytes_per_sec);
            e.1.push(b.sustained_bytes_per_sec);
            e.2 |= b.throttled_periods.is_some_and(|p| p > 0);
        }
        for p in &m.memory_latency {
            curve
                .entry((rec.placement(), p.huge_pages, p.working_set_bytes))
                .or_default()
                .push(p.ns_per_load);
        }
    }

    /// The summary of everything added. `prices` of `None` leaves cost columns out.
    pub fn finish(self, meta: &RunMeta, prices: Option<&Prices>) -> Summary {
        let Self {
            net,
            mem,
            curve,
            emulated,
            emulated_cpu,
            failures,
            ok,
        } = self;
        // A row's size label names its architecture in a run that crosses them
        // ([`crate::sizes::placement`]): each is priced at its own rate.
        let price_of = |label: &str| -> Option<f64> {
            let prices = prices?;
            let (size, arch) = parse_placement(label)?;
            prices.hourly_for(arch.unwrap_or(prices.arch), size)
        };
        let arch_of = |label: &str| parse_placement(label).and_then(|(_, arch)| arch);
        let mut short_runs = Vec::new();
        let network: Vec<NetRow> = net
            .into_iter()
            .map(|((test, size, direction), acc)| {
                let throughput = SampleSummary::from_values(&acc.bps);
                let cost = price_of(&size);
                // A bucket is the row's story when most repetitions saw one.
                let bucket = acc
                    .bucket
                    .row(cost)
                    .filter(|b| 2 * b.repetitions > acc.reps);
                let headline = bucket
                    .as_ref()
                    .map(|b| b.baseline_bits_per_sec.median)
                    .or(throughput.as_ref().map(|t| t.median));
                if bucket.is_none() && acc.may_be_burst_only && meta.backend == "ecs" {
                    short_runs.push(format!("{test} at {size}"));
                }
                NetRow {
                    arch: arch_of(&size),
                    gbit_per_sec_per_dollar_hour: match (headline, cost) {
                        (Some(t), Some(c)) if c > 0.0 => Some(t / 1e9 / c),
                        _ => None,
                    },
                    regimes: acc.regimes,
                    bucket,
                    test,
                    kind: acc.kind,
                    size,
                    direction,
                    repetitions: acc.reps,
                    throughput_bits_per_sec: throughput,
                    rtt: acc.rtt.as_ref().and_then(LatencyHistogram::summary),
                    transactions_per_sec: SampleSummary::from_values(&acc.tps),
                    udp_loss_ratio: (acc.sent > 0).then(|| acc.lost as f64 / acc.sent as f64),
                    udp_receiver_drop_ratio: acc
                        .socket_drops
                        .filter(|_| acc.sent > 0)
                        .map(|d| d as f64 / acc.sent as f64),
                    udp_jitter_ns: SampleSummary::from_values(&acc.jitter),
                    retransmits: acc.retransmits,
                    cost_per_hour: cost,
                }
            })
            .collect();
        let memory_bandwidth: Vec<MemRow> = mem
            .into_iter()
            .filter_map(
                |((size, kernel, stores, threads), (best, sustained, throttled))| {
                    let best = SampleSummary::from_values(&best)?;
                    let sustained = SampleSummary::from_values(&sustained)?;
                    let cost = price_of(&size);
                    // CFS bandwidth control is a token bucket too: a best pass that fits in one period
                    // is its burst; what the task sustains is the figure to price.
                    let headline = if throttled {
                        sustained.median
                    } else {
                        best.median
                    };
                    Some(MemRow {
                        arch: arch_of(&size),
                        gb_per_sec_per_dollar_hour: cost
                            .filter(|c| *c > 0.0)
                            .map(|c| headline / 1e9 / c),
                        sustained_bytes_per_sec: sustained,
                        best_bytes_per_sec: best,
                        quota_throttled: throttled,
                        size,
                        kernel,
                        stores,
                        threads,
                        cost_per_hour: cost,
                    })
                },
            )
            .collect();
        let memory_latency = curve
            .into_iter()
            .filter_map(|((size, huge_pages, working_set_bytes), v)| {
                Some(CurvePoint {
                    size,
                    working_set_bytes,
                    huge_pages,
                    ns_per_load: SampleSummary::from_values(&v)?,
                })
            })
            .collect();
        // Sizes in size order (not text order), x86 before ARM64 at one size; the sorts are
        // stable, so directions, kernels and working sets keep their order.
        let mut network = network;
        network.sort_by_key(|r| (r.test.clone(), placement_order(&r.size)));
        let mut memory_bandwidth = memory_bandwidth;
        memory_bandwidth.sort_by_key(|r| placement_order(&r.size));
        let mut memory_latency: Vec<CurvePoint> = memory_latency;
        memory_latency.sort_by_key(|p| placement_order(&p.size));
        let mut warnings = outlier_warnings(&network, &memory_bandwidth);
        if !short_runs.is_empty() {
            warnings.push(format!(
                "{} ran at one rate, for less than the longest published Fargate burst (19 min): \
                 on Fargate that figure may be the burst alone; run with until_baseline = true to \
                 measure the baseline",
                short_runs.join(", ")
            ));
        }
        Summary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            run: meta.clone(),
            pricing: prices.map(|p| Pricing {
                region: p.region.clone(),
                arch: p.arch,
                as_of: p.as_of().to_owned(),
                capacity: p.capacity,
                unknown: p.unknown(),
            }),
            architectures: crate::versus::compare(&network, &memory_bandwidth, emulated_cpu),
            network,
            memory_bandwidth,
            memory_latency,
            emulated,
            failures,
            items_ok: ok,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::TaskSize;
    use crate::store::{now_rfc3339, RunStatus};
    use crate::suite::Suite;
    use probe_core::report::{LatencyMetrics, Throughput, UdpMetrics};
    use probe_core::{Report, Role};

    fn meta() -> RunMeta {
        RunMeta {
            run_id: "r".into(),
            backend: "local".into(),
            suite: Suite::default_suite(),
            controller_version: "0".into(),
            started_at: now_rfc3339(),
            status: RunStatus::Complete,
            finished_at: None,
            command_line: None,
        }
    }

    fn record(label: &str, rep: u32, report: Report) -> ItemRecord {
        ItemRecord {
            id: format!("{rep}/1x2/{label}"),
            label: label.into(),
            kind: report.test.kind.clone(),
            size: "1x2".into(),
            arch: None,
            repetition: rep,
            status: ItemStatus::Ok,
            reports: vec![report],
            reason: None,
            last_lines: vec![],
            emulated: vec!["cpu".into()],
            finished_at: now_rfc3339(),
        }
    }

    fn stream(bps: f64, sent: u64, lost: u64) -> Report {
        let mut r = Report::new("netprobe", "0", Role::Client, "udp-stream");
        r.metrics.throughput.push(Throughput {
            direction: Direction::ClientToServer,
            received_bytes: 0,
            measured_ns: 1,
            bits_per_sec: bps,
            streams: vec![],
            regime: None,
        });
        r.metrics.udp = Some(UdpMetrics {
            sent_datagrams: sent,
            lost_datagrams: lost,
            jitter_ns: 1000.0,
            ..Default::default()
        });
        r
    }

    fn rr(values: &[u64], tps: f64) -> Report {
        let mut h = LatencyHistogram::new();
        values.iter().for_each(|v| h.record(*v));
        let mut r = Report::new("netprobe", "0", Role::Client, "tcp-rr");
        let mut l = LatencyMetrics::closed_loop(h);
        l.transactions_per_sec = tps;
        r.metrics.latency = Some(l);
        r
    }

    #[test]
    fn throughput_spread_and_loss_match_hand_computation() {
        let mut with_drops = stream(3e9, 2000, 20);
        with_drops
            .metrics
            .udp
            .as_mut()
            .unwrap()
            .receiver_socket_drops = Some(12);
        let recs = [
            record("udp", 1, stream(1e9, 1000, 10)),
            record("udp", 2, stream(2e9, 1000, 0)),
            record("udp", 3, with_drops),
        ];
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let s = summarize(&meta(), &recs, Some(&prices));
        assert_eq!(s.network.len(), 1);
        let row = &s.network[0];
        let t = row.throughput_bits_per_sec.as_ref().unwrap();
        assert_eq!(
            (t.n, t.mean, t.median, t.min, t.max),
            (3, 2e9, 2e9, 1e9, 3e9)
        );
        // sd = 1e9, t(2) = 4.303, half = 4.303 * 1e9 / sqrt(3)
        let half = 4.303e9 / 3f64.sqrt();
        assert!((t.ci95_high.unwrap() - (2e9 + half)).abs() < 1.0);
        // Loss over all datagrams: 30 / 4000, not the mean of per-run ratios.
        assert_eq!(row.udp_loss_ratio, Some(30.0 / 4000.0));
        // Receiver drops over the same datagrams (runs that could not tell count as none).
        assert_eq!(row.udp_receiver_drop_ratio, Some(12.0 / 4000.0));
        let price = 0.04048 + 2.0 * 0.004445;
        assert!((row.cost_per_hour.unwrap() - price).abs() < 1e-12);
        assert!((row.gbit_per_sec_per_dollar_hour.unwrap() - 2.0 / price).abs() < 1e-9);
        assert_eq!(s.emulated, ["cpu"]);
    }

    /// Issue 15: a run over both architectures keeps each size's rows apart, prices each at
    /// its own architecture's rate, and answers "Graviton or x86" per figure.
    #[test]
    fn architectures_sit_side_by_side_each_at_its_price() {
        let on = |arch, rep, bps| {
            let mut r = record("udp", rep, stream(bps, 1000, 0));
            r.arch = Some(arch);
            r.id = format!("{rep}/1x2/{arch}/udp");
            r
        };
        let recs = [
            on(Arch::X86, 1, 4e9),
            on(Arch::Arm, 1, 4e9),
            on(Arch::X86, 2, 4e9),
            on(Arch::Arm, 2, 4e9),
        ];
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let s = summarize(&meta(), &recs, Some(&prices));
        let sizes: Vec<&str> = s.network.iter().map(|r| r.size.as_str()).collect();
        assert_eq!(sizes, ["1x2 X86_64", "1x2 ARM64"], "x86 first at one size");
        let size = TaskSize::parse("1x2").unwrap();
        let arm_price = prices.table.hourly("us-east-1", Arch::Arm, size).unwrap();
        let arm = &s.network[1];
        assert_eq!((arm.arch, arm.repetitions), (Some(Arch::Arm), 2));
        assert!((arm.cost_per_hour.unwrap() - arm_price).abs() < 1e-12);
        assert_eq!(s.architectures.len(), 1);
        let c = &s.architectures[0];
        assert_eq!(
            (c.what.as_str(), c.size.as_str()),
            ("udp client->server throughput", "1x2")
        );
        let x86_price = 0.04048 + 2.0 * 0.004445;
        assert!((c.arm_over_x86_per_dollar.unwrap() - x86_price / arm_price).abs() < 1e-9);
        assert!(c.verdict.starts_with("ARM64 (Graviton)"), "{}", c.verdict);
    }

    /// Issue 15: figures from a probe under qemu-user are marked functional only, once.
    #[test]
    fn probes_under_emulation_mark_the_summary() {
        let mut emulated = rr(&[1000, 2000], 10.0);
        emulated.host.architecture = "aarch64".into();
        emulated.host.emulation = Some("runs on an x86_64 CPU".into());
        let recs = [
            record("rr", 1, emulated.clone()),
            record("rr", 2, emulated),
            record("rr", 3, rr(&[1000], 10.0)),
        ];
        let s = summarize(&meta(), &recs, None);
        assert_eq!(
            s.emulated,
            [
                "cpu",
                "cpu: aarch64 probes ran under emulation (qemu-user), so their figures are \
                 functional only"
            ]
        );
    }

    #[test]
    fn a_quota_throttled_kernel_is_priced_at_what_it_sustains() {
        use probe_core::report::BandwidthResult;
        let mem = |size: &str, best: f64, sustained: f64, throttled: u64| {
            let mut r = Report::new("memprobe", "0", Role::Standalone, "memory");
            r.metrics.memory_bandwidth.push(BandwidthResult {
                kernel: "triad".into(),
                stores: "cached".into(),
                implementation: "avx2".into(),
                threads: 1,
                array_bytes: 1,
                bytes_per_pass: 1,
                passes: 10,
                best_bytes_per_sec: best,
                median_bytes_per_sec: best,
                worst_bytes_per_sec: best,
                cv: 0.0,
                bus_bytes_per_sec: best,
                sustained_bytes_per_sec: sustained,
                throttled_periods: Some(throttled),
                throttled_ns: Some(throttled * 1_000_000),
            });
            let mut rec = record("mem", 1, r);
            rec.size = size.into();
            rec
        };
        // What the docker backend saw at --cpus 0.25: a 43.7 GB/s best pass, 10 GB/s sustained.
        let recs = [
            mem("0.25x0.5", 43.7e9, 10.0e9, 40),
            mem("1x2", 50.0e9, 49.0e9, 0),
        ];
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let s = summarize(&meta(), &recs, Some(&prices));
        let small = s
            .memory_bandwidth
            .iter()
            .find(|r| r.size == "0.25x0.5")
            .unwrap();
        let big = s.memory_bandwidth.iter().find(|r| r.size == "1x2").unwrap();
        assert!(small.quota_throttled && !big.quota_throttled);
        let per_dollar = |r: &MemRow| r.gb_per_sec_per_dollar_hour.unwrap();
        assert!((per_dollar(small) - 10.0 / small.cost_per_hour.unwrap()).abs() < 1e-6);
        assert!((per_dollar(big) - 50.0 / big.cost_per_hour.unwrap()).abs() < 1e-6);
        // Priced at its best pass 0.25x0.5 looked 3.5x as cost-efficient as 1x2; sustained, 0.8x.
        let ratio = per_dollar(small) / per_dollar(big);
        assert!((0.75..0.85).contains(&ratio), "{ratio:.2}");
    }

    #[test]
    fn a_bucket_seen_in_most_repetitions_makes_the_baseline_the_headline() {
        use probe_core::regime::{detect, Sample};
        let with_series = |burst: f64, secs: u64, baseline: f64| {
            let mut r = stream(0.0, 0, 0);
            let series: Vec<Sample> = (0..secs + 10)
                .map(|i| Sample {
                    start_ns: i * 1_000_000_000,
                    duration_ns: 1_000_000_000,
                    bits_per_sec: if i < secs { burst } else { baseline },
                })
                .collect();
            let t = &mut r.metrics.throughput[0];
            t.bits_per_sec =
                series.iter().map(|s| s.bits_per_sec).sum::<f64>() / series.len() as f64;
            t.regime = Some(detect(&series, &Default::default()));
            r
        };
        let recs = [
            record("tcp", 1, with_series(4.2e9, 8, 0.063e9)),
            record("tcp", 2, with_series(4.0e9, 9, 0.060e9)),
            record("tcp", 3, with_series(4.4e9, 7, 0.066e9)),
        ];
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let s = summarize(&meta(), &recs, Some(&prices));
        let row = &s.network[0];
        assert_eq!(row.regimes.get("burst_then_baseline"), Some(&3));
        let b = row.bucket.as_ref().unwrap();
        assert_eq!(b.burst_bits_per_sec.median, 4.2e9);
        assert_eq!(b.baseline_bits_per_sec.median, 0.063e9);
        assert_eq!(b.burst_duration_ns.median, 8e9);
        let (label, figure) = row.headline().unwrap();
        assert_eq!((label, figure.median), ("baseline", 0.063e9));
        let cost = row.cost_per_hour.unwrap();
        assert!((row.gbit_per_sec_per_dollar_hour.unwrap() - 0.063 / cost).abs() < 1e-9);
        assert!((b.burst_gbit_per_sec_per_dollar_hour.unwrap() - 4.2 / cost).abs() < 1e-9);
        let table = crate::export::tables(&s, true);
        let text = format!("{table:?}");
        assert!(text.contains("baseline 63.00 Mbit/s"), "{text}");
        assert!(text.contains("Burst and baseline"), "{text}");
    }

    #[test]
    fn an_outlying_repetition_is_kept_and_named() {
        let recs: Vec<ItemRecord> = [1e9, 1.01e9, 0.99e9, 1.0e9, 0.2e9]
            .iter()
            .enumerate()
            .map(|(i, bps)| record("udp", i as u32 + 1, stream(*bps, 1000, 0)))
            .collect();
        let s = summarize(&meta(), &recs, None);
        let t = s.network[0].throughput_bits_per_sec.as_ref().unwrap();
        assert_eq!((t.n, t.min), (5, 0.2e9), "kept in the figure");
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("Mbit/s"), "{}", s.warnings[0]);
        assert!(s.warnings[0].contains("Tukey"), "{}", s.warnings[0]);
        let clean = summarize(&meta(), &recs[..4], None);
        assert!(clean.warnings.is_empty());
    }

    #[test]
    fn percentiles_come_from_merged_histograms_not_averages() {
        // Run 1: 100 x 10 us. Run 2: 100 x 1000 us. Averaging p50s would give ~505 us; the
        // merged p50 is 10 us (the 100th of 200 values) and p99 is 1000 us.
        let recs = [
            record("rr", 1, rr(&[10_000; 100], 100.0)),
            record("rr", 2, rr(&[1_000_000; 100], 300.0)),
        ];
        let s = summarize(&meta(), &recs, None);
        let rtt = s.network[0].rtt.as_ref().unwrap();
        assert_eq!(rtt.count, 200);
        assert!(
            (rtt.p50_ns as f64 - 10_000.0).abs() < 20.0,
            "{}",
            rtt.p50_ns
        );
        assert!((rtt.p99_ns as f64 - 1_000_000.0).abs() < 1_000.0);
        assert_eq!(
            s.network[0].transactions_per_sec.as_ref().unwrap().median,
            200.0
        );
        assert!(s.network[0].cost_per_hour.is_none());
    }

    #[test]
    fn failures_are_listed_and_not_merged() {
        let mut bad = record("udp", 2, stream(9e9, 1, 0));
        bad.status = ItemStatus::Failed;
        bad.reason = Some("no result line".into());
        let s = summarize(&meta(), &[record("udp", 1, stream(1e9, 10, 0)), bad], None);
        assert_eq!(s.items_ok, 1);
        assert_eq!(s.failures.len(), 1);
        assert_eq!(s.network[0].repetitions, 1);
    }
}
