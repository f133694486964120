//! The fold: finished items in, one [`Merged`] document out (the model is
//! [`crate::summary`]). Throughput spread over repetitions, latency percentiles from merged
//! histograms (never averaged), UDP loss over all datagrams, memory bandwidth per kernel and
//! thread count, the latency curve, interval series, hosts and cost, in one pass that keeps
//! only what the document needs. This is the only place histograms merge. Refill tests fold
//! in `merge/refill.rs`, shared-bucket tests in `merge/bucket_sharing.rs`.

mod bucket_sharing;
mod generations;
mod loaded;
mod refill;
mod startup;

use std::collections::BTreeMap;

use probe_core::regime::Regime;
use probe_core::report::{Direction, Metrics};
use probe_core::stats::SampleSummary;
use probe_core::LatencyHistogram;

use crate::sizes::Prices;
use crate::store::{ItemRecord, ItemStatus, RunMeta};
use crate::summary::{
    BucketRow, CurvePoint, Failure, HostRow, IntervalPoint, MemRow, Merged, MergedLatency, NetRow,
    Placement, Plateau, Pricing, RttPercentiles, Series, Summary, SUMMARY_SCHEMA_VERSION,
};

/// Burst and baseline of the repetitions whose series showed a bucket.
#[derive(Default, Clone)]
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
            burst_gbit_per_sec_per_dollar_hour: per_dollar(burst.median, cost).map(|v| v / 1e9),
            burst_bits_per_sec: burst,
            burst_duration_ns: SampleSummary::from_values(&self.duration)?,
            burst_bytes_above_baseline: SampleSummary::from_values(&self.bytes)?,
            baseline_bits_per_sec: SampleSummary::from_values(&self.baseline)?,
        })
    }
}

fn verdict_name(r: &Regime) -> &'static str {
    match r {
        Regime::BurstThenBaseline(_) => "burst_then_baseline",
        Regime::Flat { .. } => "flat",
        Regime::Undecided { .. } => "undecided",
    }
}

/// `value` per USD per task-hour, when a positive price is known.
fn per_dollar(value: f64, cost_per_hour: Option<f64>) -> Option<f64> {
    cost_per_hour.filter(|c| *c > 0.0).map(|c| value / c)
}

/// Each repetition's own percentiles over repetitions, when every one has all four.
fn rtt_percentiles([p50, p90, p99, p99_9]: &[Vec<f64>; 4]) -> Option<RttPercentiles> {
    Some(RttPercentiles {
        p50_ns: SampleSummary::from_values(p50)?,
        p90_ns: SampleSummary::from_values(p90)?,
        p99_ns: SampleSummary::from_values(p99)?,
        p99_9_ns: SampleSummary::from_values(p99_9)?,
    })
}

/// One network row in the making: a test at a placement in one direction.
#[derive(Default, Clone)]
struct NetAcc {
    kind: String,
    reps: u64,
    bits_per_sec: Vec<f64>,
    rtt: Option<LatencyHistogram>,
    rtt_uncorrected: Option<LatencyHistogram>,
    /// Each repetition's own p50, p90, p99 and p99.9.
    rtt_percentiles: [Vec<f64>; 4],
    transactions_per_sec: Vec<f64>,
    sent: u64,
    lost: u64,
    socket_drops: Option<u64>,
    jitter_ns: Vec<f64>,
    retransmits: Option<u64>,
    regimes: BTreeMap<String, u64>,
    bucket: BucketAcc,
    refill: refill::RefillAcc,
    loaded: loaded::LoadedAcc,
    sharing: bucket_sharing::SharingAcc,
    may_be_burst_only: bool,
}

/// One memory bandwidth row in the making.
#[derive(Default, Clone)]
struct MemAcc {
    best: Vec<f64>,
    sustained: Vec<f64>,
    /// A CPU quota throttled the kernel in some repetition.
    quota_throttled: bool,
}

/// (test, placement, direction): a network row.
type NetKey = (String, Placement, Option<Direction>);
/// (placement, kernel, stores, threads): a memory bandwidth row.
type MemKey = (Placement, String, String, u32);
/// (placement, huge pages, working set): a point of the latency curve.
type CurveKey = (Placement, bool, u64);
/// (test, placement, direction): a lane of interval samples.
type SeriesKey = (String, Placement, Direction);

/// Merges `records` into one document. `prices` of `None` leaves cost columns out.
pub fn summarize(meta: &RunMeta, records: &[ItemRecord], prices: Option<&Prices>) -> Merged {
    let mut summarizer = Summarizer::new();
    for rec in records {
        summarizer.add(rec);
    }
    summarizer.finish(meta, prices)
}

/// Folds records into the document one at a time, keeping only what it needs (merged
/// histograms, one number per repetition, interval samples), so a report over 10,000 items
/// never holds them all ([`crate::store::fold_records`] reads them one by one).
#[derive(Default)]
pub struct Summarizer {
    rows: RowAccs,
    /// The CPU generations of the tasks, and the rows of each generation's items.
    generations: generations::GenerationAcc,
    curve: BTreeMap<CurveKey, Vec<f64>>,
    series: BTreeMap<SeriesKey, Vec<(u32, Vec<IntervalPoint>)>>,
    hosts: BTreeMap<(Placement, String), HostRow>,
    plateaus: Vec<Plateau>,
    failed_output: BTreeMap<String, Vec<String>>,
    emulated: Vec<String>,
    /// A probe ran under CPU emulation: comparisons are functional only.
    emulated_cpu: bool,
    failures: Vec<Failure>,
    /// Every task's start-up, by placement.
    startup: startup::StartupAcc,
    ok: u64,
    /// Records left out or parts that could not be merged: said, never dropped silently.
    warnings: Vec<String>,
}

impl std::fmt::Debug for Summarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summarizer")
            .field("items_ok", &self.ok)
            .field("failures", &self.failures.len())
            .finish_non_exhaustive()
    }
}

/// Merges `from` into `into` (starting it when empty); a failure is a warning naming the item.
fn merge_into(
    into: &mut Option<LatencyHistogram>,
    from: &LatencyHistogram,
    id: &str,
    warnings: &mut Vec<String>,
) {
    match into {
        None => *into = Some(from.clone()),
        Some(h) => {
            if let Err(e) = h.merge(from) {
                warnings.push(format!(
                    "item {id}: its round trips could not be merged ({e}), so the percentiles \
                     leave them out"
                ));
            }
        }
    }
}

/// The network and memory rows in the making: of every task, or of one CPU generation's.
#[derive(Default)]
struct RowAccs {
    net: BTreeMap<NetKey, NetAcc>,
    mem: BTreeMap<MemKey, MemAcc>,
}

impl RowAccs {
    /// Adds one record's network and memory figures.
    fn add(
        &mut self,
        rec: &ItemRecord,
        placement: Placement,
        m: &Metrics,
        warnings: &mut Vec<String>,
    ) {
        if !m.throughput.is_empty() {
            self.add_throughput(rec, placement, m);
        } else if let Some(lat) = &m.latency {
            let acc = self
                .net
                .entry((rec.label.clone(), placement, None))
                .or_default();
            acc.kind = rec.kind.clone();
            acc.reps += 1;
            acc.transactions_per_sec.push(lat.transactions_per_sec);
            if let Some(own) = lat.rtt.summary() {
                let [p50, p90, p99, p99_9] = &mut acc.rtt_percentiles;
                p50.push(own.p50_ns as f64);
                p90.push(own.p90_ns as f64);
                p99.push(own.p99_ns as f64);
                p99_9.push(own.p99_9_ns as f64);
            }
            merge_into(&mut acc.rtt, &lat.rtt, &rec.id, warnings);
            if let Some(raw) = &lat.rtt_uncorrected {
                merge_into(&mut acc.rtt_uncorrected, raw, &rec.id, warnings);
            }
        }
        for b in &m.memory_bandwidth {
            let acc = self
                .mem
                .entry((placement, b.kernel.clone(), b.stores.clone(), b.threads))
                .or_default();
            acc.best.push(b.best_bytes_per_sec);
            acc.sustained.push(b.sustained_bytes_per_sec);
            acc.quota_throttled |= b.throttled_periods.is_some_and(|p| p > 0);
        }
    }

    fn add_throughput(&mut self, rec: &ItemRecord, placement: Placement, m: &Metrics) {
        for t in &m.throughput {
            let acc = self
                .net
                .entry((rec.label.clone(), placement, Some(t.direction)))
                .or_default();
            acc.kind = rec.kind.clone();
            acc.reps += 1;
            acc.bits_per_sec.push(t.bits_per_sec);
            if let Some(r) = &t.regime {
                *acc.regimes.entry(verdict_name(r).to_owned()).or_default() += 1;
                match r {
                    Regime::BurstThenBaseline(b) => acc.bucket.add(b),
                    Regime::Flat {
                        may_be_burst_only, ..
                    } => acc.may_be_burst_only |= may_be_burst_only,
                    Regime::Undecided { .. } => {}
                }
            }
            let senders = t.streams.iter().filter_map(|s| s.sender_tcp_info.as_ref());
            if t.streams.iter().any(|s| s.sender_tcp_info.is_some()) {
                *acc.retransmits.get_or_insert(0) +=
                    senders.map(|i| i.total_retransmits).sum::<u64>();
            }
            if let Some(u) = &m.udp {
                acc.sent += u.sent_datagrams;
                acc.lost += u.lost_datagrams;
                if let Some(d) = u.receiver_socket_drops {
                    *acc.socket_drops.get_or_insert(0) += d;
                }
                acc.jitter_ns.push(u.jitter_ns);
            }
        }
        if let Some(r) = &m.refill {
            let key = (rec.label.clone(), placement, Some(r.direction));
            self.net.entry(key).or_default().refill.add(r);
        }
        if let (Some(l), Some(t)) = (&m.latency_under_load, m.throughput.first()) {
            let key = (rec.label.clone(), placement, Some(t.direction));
            self.net.entry(key).or_default().loaded.add(l);
        }
        if let Some(s) = &m.bucket_sharing {
            let key = (rec.label.clone(), placement, Some(s.drained));
            self.net.entry(key).or_default().sharing.add(s);
        }
    }
}

impl Summarizer {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one record (the latest of its item).
    pub fn add(&mut self, rec: &ItemRecord) {
        self.note_emulation(rec);
        if let Ok(placement) = Placement::of(&rec.size, rec.arch) {
            self.startup
                .add(placement, rec.lifecycles.iter().map(|t| &t.lifecycle));
        }
        if rec.status == ItemStatus::Failed {
            self.failures.push(Failure {
                id: rec.id.clone(),
                reason: rec.reason.clone().unwrap_or_default(),
            });
            if !rec.last_lines.is_empty() {
                self.failed_output
                    .insert(rec.id.clone(), rec.last_lines.clone());
            }
            return;
        }
        let placement = match Placement::of(&rec.size, rec.arch) {
            Ok(p) => p,
            Err(e) => {
                self.warnings.push(format!(
                    "item {} is left out of the report: {e} (results.jsonl was edited or \
                     written by another tool)",
                    rec.id
                ));
                return;
            }
        };
        self.ok += 1;
        self.add_hosts(rec, placement);
        // Before the all-tasks rows take this record: a placement splitting by generation
        // now starts its first generation's rows from them.
        let by_generation = self.generations.add(rec, placement, &self.rows);
        let Some(report) = rec.reports.first() else {
            return;
        };
        let m = &report.metrics;
        if let Some(rows) = by_generation {
            rows.add(rec, placement, m, &mut self.warnings);
        }
        self.rows.add(rec, placement, m, &mut self.warnings);
        if !m.throughput.is_empty() {
            self.add_series(rec, placement, report);
        }
        for p in &m.memory_latency {
            self.curve
                .entry((placement, p.huge_pages, p.working_set_bytes))
                .or_default()
                .push(p.ns_per_load);
        }
        for report in &rec.reports {
            for p in &report.metrics.cache_plateaus {
                let seen = self
                    .plateaus
                    .iter()
                    .any(|q| q.placement == placement && q.level == p.level);
                if !seen {
                    self.plateaus.push(Plateau {
                        placement,
                        level: p.level.clone(),
                        up_to_bytes: p.up_to_bytes,
                        ns_per_load: p.ns_per_load,
                    });
                }
            }
        }
    }

    fn note_emulation(&mut self, rec: &ItemRecord) {
        self.emulated_cpu |= rec.reports.iter().any(|r| r.host.emulation.is_some());
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
            if !self.emulated.contains(&e) {
                self.emulated.push(e);
            }
        }
    }

    /// A bulk test's interval samples, one lane per direction (request/response tests count
    /// transactions in theirs, and are drawn as latency instead).
    fn add_series(&mut self, rec: &ItemRecord, placement: Placement, report: &probe_core::Report) {
        if report.intervals.iter().all(|i| i.transactions.is_some()) {
            return;
        }
        let mut lanes: BTreeMap<Direction, Vec<IntervalPoint>> = BTreeMap::new();
        // Latency under load rides beside the (one-direction) stream, interval for interval.
        let probed = report.metrics.latency_under_load.as_ref();
        for i in &report.intervals {
            let lane = lanes
                .entry(i.direction.unwrap_or(Direction::ClientToServer))
                .or_default();
            let probe_p99_ns = probed
                .and_then(|l| l.intervals.get(lane.len()))
                .and_then(|p| p.p99_ns);
            lane.push(IntervalPoint {
                start_ns: i.start_ns,
                duration_ns: i.duration_ns,
                bits_per_sec: i.bits_per_sec,
                probe_p99_ns,
            });
        }
        for (direction, points) in lanes {
            self.series
                .entry((rec.label.clone(), placement, direction))
                .or_default()
                .push((rec.repetition, points));
        }
    }

    fn add_hosts(&mut self, rec: &ItemRecord, placement: Placement) {
        /// The platform version the controller saw a task of `role` (else any of the item's
        /// tasks) run on.
        fn ran_on(rec: &ItemRecord, role: &str) -> Option<String> {
            let version = |l: &&crate::store::TaskLifecycle| l.platform_version.clone();
            let mut tasks = rec.lifecycles.iter();
            tasks
                .clone()
                .find(|l| l.role == role)
                .and_then(|l| version(&l))
                .or_else(|| tasks.find_map(|l| version(&l)))
        }
        for report in &rec.reports {
            let role = format!("{:?}", report.role).to_lowercase();
            let h = &report.host;
            let platform_version = h
                .ecs
                .as_ref()
                .and_then(|e| e.platform_version.clone())
                .or_else(|| ran_on(rec, &role));
            self.hosts
                .entry((placement, role.clone()))
                .or_insert_with(|| HostRow {
                    placement,
                    role,
                    cpu: h.cpu_generation().unwrap_or_else(|| h.architecture.clone()),
                    arch: crate::sizes::Arch::ALL
                        .into_iter()
                        .find(|a| a.rust_name() == h.architecture),
                    cpu_limit: h.cgroup.as_ref().and_then(|c| c.cpu_limit()),
                    memory_limit_bytes: h.cgroup.as_ref().and_then(|c| c.memory_limit_bytes),
                    kernel: h.kernel.clone(),
                    zone: h.ecs.as_ref().and_then(|e| e.availability_zone.clone()),
                    // The task metadata endpoint does not give it on Fargate; DescribeTasks does,
                    // and the controller kept it with the task's lifecycle.
                    platform_version,
                    clocksource: h.clocksource.clone(),
                    hypervisor: h.hypervisor.clone(),
                });
        }
    }

    /// The document of everything added. `prices` of `None` leaves cost columns out.
    pub fn finish(self, meta: &RunMeta, prices: Option<&Prices>) -> Merged {
        let Self {
            rows,
            generations,
            curve,
            series,
            hosts,
            plateaus,
            failed_output,
            emulated,
            emulated_cpu,
            failures,
            startup,
            ok,
            mut warnings,
        } = self;
        // Each row is priced at its own architecture's rate in a run that crosses them.
        let price_of = |p: Placement| -> Option<f64> {
            let prices = prices?;
            prices.hourly_for(p.arch.unwrap_or(prices.arch), p.size)
        };
        let mut short_runs = Vec::new();
        let mut latency = Vec::new();
        let mut network = Vec::with_capacity(rows.net.len());
        for (key, acc) in rows.net {
            let (row, pooled) = net_row(key, acc, &price_of);
            if row.bucket.is_none() && pooled.may_be_burst_only && meta.backend == "ecs" {
                short_runs.push(format!("{} at {}", row.test, row.size));
            }
            if let Some(rtt) = pooled.rtt {
                latency.push(MergedLatency {
                    test: row.test.clone(),
                    placement: row.size,
                    rtt,
                    uncorrected: pooled.uncorrected,
                });
            }
            network.push(row);
        }
        latency.sort_by(|a, b| (a.placement, &a.test).cmp(&(b.placement, &b.test)));
        let memory_bandwidth: Vec<MemRow> = rows
            .mem
            .into_iter()
            .filter_map(|(key, acc)| mem_row(key, acc, &price_of))
            .collect();
        let (cpu_generations, by_generation, mixed) = generations.finish(&price_of);
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
        let mut all_warnings = outlier_warnings(&network, &memory_bandwidth);
        if !short_runs.is_empty() {
            all_warnings.push(format!(
                "{} ran at one rate, for less than the longest published Fargate burst (19 min): \
                 on Fargate that figure may be the burst alone; run with until_baseline = true to \
                 measure the baseline",
                short_runs.join(", ")
            ));
        }
        all_warnings.extend(mixed);
        all_warnings.append(&mut warnings);
        let summary = Summary {
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
            cpu_generations,
            by_generation,
            emulated,
            failures,
            startup: startup.rows(meta.capacity),
            items_ok: ok,
            warnings: all_warnings,
        };
        let mut plateaus = plateaus;
        plateaus.sort_by_key(|p| p.placement);
        Merged {
            summary,
            latency,
            series: series
                .into_iter()
                .map(|((test, placement, direction), repetitions)| Series {
                    test,
                    placement,
                    direction,
                    repetitions,
                })
                .collect(),
            hosts: hosts.into_values().collect(),
            plateaus,
            failed_output,
        }
    }
}

/// What a network row leaves besides itself: its pooled round trips (for the page and
/// `.hgrm`), and whether a flat series may have been a burst alone.
struct Pooled {
    rtt: Option<LatencyHistogram>,
    uncorrected: Option<LatencyHistogram>,
    may_be_burst_only: bool,
}

/// One network row out of its accumulator, priced by `price_of`.
fn net_row(
    (test, placement, direction): NetKey,
    acc: NetAcc,
    price_of: &dyn Fn(Placement) -> Option<f64>,
) -> (NetRow, Pooled) {
    let cost = price_of(placement);
    // A bucket is the row's story when most repetitions saw one.
    let bucket = acc
        .bucket
        .row(cost)
        .filter(|b| 2 * b.repetitions > acc.reps);
    let mut row = NetRow {
        arch: placement.arch,
        gbit_per_sec_per_dollar_hour: None,
        regimes: acc.regimes,
        bucket,
        refill: acc.refill.row(),
        latency_under_load: acc.loaded.row(),
        bucket_sharing: acc.sharing.row(),
        test,
        kind: acc.kind,
        size: placement,
        direction,
        repetitions: acc.reps,
        throughput_bits_per_sec: SampleSummary::from_values(&acc.bits_per_sec),
        rtt: acc.rtt.as_ref().and_then(LatencyHistogram::summary),
        rtt_percentiles: rtt_percentiles(&acc.rtt_percentiles),
        transactions_per_sec: SampleSummary::from_values(&acc.transactions_per_sec),
        udp_loss_ratio: (acc.sent > 0).then(|| acc.lost as f64 / acc.sent as f64),
        udp_receiver_drop_ratio: acc
            .socket_drops
            .filter(|_| acc.sent > 0)
            .map(|d| d as f64 / acc.sent as f64),
        udp_jitter_ns: SampleSummary::from_values(&acc.jitter_ns),
        retransmits: acc.retransmits,
        cost_per_hour: cost,
    };
    row.gbit_per_sec_per_dollar_hour = row
        .headline()
        .filter(|h| h.unit == crate::summary::Unit::BitsPerSec)
        .and_then(|h| per_dollar(h.value.median, cost))
        .map(|v| v / 1e9);
    let pooled = Pooled {
        rtt: acc.rtt,
        uncorrected: acc.rtt_uncorrected,
        may_be_burst_only: acc.may_be_burst_only,
    };
    (row, pooled)
}

/// One memory bandwidth row out of its accumulator; `None` with no repetition.
fn mem_row(
    (placement, kernel, stores, threads): MemKey,
    acc: MemAcc,
    price_of: &dyn Fn(Placement) -> Option<f64>,
) -> Option<MemRow> {
    let cost = price_of(placement);
    let mut row = MemRow {
        arch: placement.arch,
        gb_per_sec_per_dollar_hour: None,
        sustained_bytes_per_sec: SampleSummary::from_values(&acc.sustained)?,
        best_bytes_per_sec: SampleSummary::from_values(&acc.best)?,
        quota_throttled: acc.quota_throttled,
        size: placement,
        kernel,
        stores,
        threads,
        cost_per_hour: cost,
    };
    row.gb_per_sec_per_dollar_hour = per_dollar(row.headline().value.median, cost).map(|v| v / 1e9);
    Some(row)
}

/// A warning for each figure whose repetitions hold an outlier: kept in the figure, named here.
fn outlier_warnings(network: &[NetRow], memory: &[MemRow]) -> Vec<String> {
    use crate::summary::Unit;
    let mut out = Vec::new();
    let mut say = |what: String, s: &SampleSummary, unit: Unit| {
        if !s.outliers.is_empty() {
            let values: Vec<String> = s.outliers.iter().map(|v| unit.format(*v)).collect();
            out.push(format!(
                "{what}: repetition(s) at {} lie outside Tukey's fences of the other {} (median \
                 {}); a noisy neighbour or throttling? the figure keeps them; look at \
                 results.jsonl or run more repetitions",
                values.join(", "),
                s.n as usize - s.outliers.len(),
                unit.format(s.median)
            ));
        }
    };
    for r in network {
        if let Some(t) = &r.throughput_bits_per_sec {
            say(format!("{} at {}", r.test, r.size), t, Unit::BitsPerSec);
        }
        if let Some(t) = &r.transactions_per_sec {
            let what = format!("{} at {} transactions/s", r.test, r.size);
            say(what, t, Unit::TransactionsPerSec);
        }
    }
    for m in memory {
        let what = format!("{} {} x{} at {}", m.kernel, m.stores, m.threads, m.size);
        say(what, &m.best_bytes_per_sec, Unit::BytesPerSec);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::{Arch, TaskSize};
    use crate::store::{now_rfc3339, RunStatus};
    use crate::suite::Suite;
    use crate::summary::Summary;
    use probe_core::report::{LatencyMetrics, Throughput, UdpMetrics};
    use probe_core::{Report, Role};

    /// The summary part of the document.
    fn summarize(meta: &RunMeta, records: &[ItemRecord], prices: Option<&Prices>) -> Summary {
        super::summarize(meta, records, prices).summary
    }

    /// A finished local run (also the generation tests' run).
    pub(super) fn meta() -> RunMeta {
        RunMeta {
            controller_version: "0".into(),
            status: RunStatus::Complete,
            ..RunMeta::new("r", "local", Suite::default_suite(), now_rfc3339())
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
            lifecycles: Vec::new(),
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
        let sizes: Vec<String> = s.network.iter().map(|r| r.size.to_string()).collect();
        assert_eq!(sizes, ["1x2 X86_64", "1x2 ARM64"], "x86 first at one size");
        let size = TaskSize::parse("1x2").unwrap();
        let arm_price = prices.table.hourly("us-east-1", Arch::Arm, size).unwrap();
        let arm = &s.network[1];
        assert_eq!((arm.arch, arm.repetitions), (Some(Arch::Arm), 2));
        assert!((arm.cost_per_hour.unwrap() - arm_price).abs() < 1e-12);
        assert_eq!(s.architectures.len(), 1);
        let c = &s.architectures[0];
        assert_eq!(
            (c.what.as_str(), c.size.to_string().as_str()),
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
            .find(|r| r.size.to_string() == "0.25x0.5")
            .unwrap();
        let big = s
            .memory_bandwidth
            .iter()
            .find(|r| r.size.to_string() == "1x2")
            .unwrap();
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
        let h = row.headline().unwrap();
        assert_eq!((h.kind.name(), h.value.median), ("baseline", 0.063e9));
        let cost = row.cost_per_hour.unwrap();
        assert!((row.gbit_per_sec_per_dollar_hour.unwrap() - 0.063 / cost).abs() < 1e-9);
        assert!((b.burst_gbit_per_sec_per_dollar_hour.unwrap() - 4.2 / cost).abs() < 1e-9);
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
        // Each repetition's own p99 (10 us, then 1000 us): their spread, which the pooled p99
        // hides, is what a need or a gate on p99 is judged by.
        let own = &s.network[0].rtt_percentiles.as_ref().unwrap().p99_ns;
        assert_eq!(own.n, 2);
        assert!((own.min - 10_000.0).abs() < 20.0, "{own:?}");
        assert!((own.max - 1_000_000.0).abs() < 1_000.0, "{own:?}");
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
