//! Latency under load, per regime: does a token bucket's limit queue packets or drop them?
//!
//! Once a task's bucket is empty its traffic is held to the baseline, and the limit either
//! *queues* what exceeds it (a shaper: round trips grow by the queue's delay, little is lost)
//! or *drops* it (a policer or a short queue: round trips stay flat, packets are lost and TCP
//! retransmits). For a latency-sensitive service that difference matters more than the
//! baseline rate. The test runs a low-rate round-trip probe on its own flow beside a bulk
//! stream, over the same path: probe `i` leaves at `i / per_sec` from the start of the
//! stream's measured window, and comes back or is lost. [`analyze`] splits the probes at the
//! stream's change from burst to baseline ([`crate::regime`]), summarises each regime (round
//! trip percentiles, probes lost, the share of the stream's segments retransmitted) and names
//! what the limit does. Drops show in the stream's retransmits more than in the probes: a
//! queue limited in bytes (or a policer counting tokens per byte) that turns away a full-size
//! segment often still has room for a 64-byte probe, so on a 15 KB tbf queue the stream
//! retransmitted 3.4 % of its segments while no probe was lost.
//!
//! Pure: it takes the probes' round trips, the stream's retransmits per interval and its
//! regime, and returns numbers, so each verdict is tested on made-up series.

use serde::{Deserialize, Serialize};

use crate::histogram::LatencyHistogram;
use crate::regime::Regime;
use crate::units::format_ns;

/// Probes this close to the change from burst to baseline (either side) belong to neither
/// regime, as a share of the interval: the change is only known to within an interval, and a
/// queue takes a moment to fill.
const GUARD_SHARE_OF_INTERVAL: f64 = 0.5;

/// The baseline queues when its median round trip is at least this many times the burst's...
/// (the median, not the tail: a loss-based stream keeps a shaper's queue full, which moves
/// every probe, while a busy host's scheduling stalls move only the tail: on a 15 KB tbf
/// queue under load, p99 went from 4 to 12 ms while the median moved 1.2 ms)
const QUEUE_RISE_FACTOR: f64 = 2.0;

/// ...and at least this much longer (5 ms: well above a shared host's scheduling jitter).
const QUEUE_RISE_MIN_NS: u64 = 5_000_000;

/// The baseline drops when at least this share of its probes is lost, or of the stream's
/// segments is retransmitted (the burst's shares are reported beside them: a short queue may
/// drop at the burst rate too). A shaper's deep queue overflows now and then: 0.05 % of the
/// segments on a 200 ms tbf queue under cubic.
const DROP_SHARE: f64 = 0.01;

/// A regime needs this many probes before its figures count.
const MIN_PROBES: u64 = 10;

/// What the probes of one test saw, as the probing side recorded them.
#[derive(Debug, Clone, Copy)]
pub struct ProbeSeries<'a> {
    /// Probes sent per second.
    pub per_sec: f64,
    /// Round trip of each probe in the order sent (probe `i` left `i / per_sec` after the start
    /// of the measured window); `None` for a probe that never came back.
    pub rtt_ns: &'a [Option<u64>],
    /// Length of the stream's intervals.
    pub interval_ns: u64,
    /// Segments the stream's sender retransmitted in each interval (`TCP_INFO`); `None` where
    /// the sender could not read them (a UDP stream, or a platform without `TCP_INFO`).
    pub interval_retransmits: Option<&'a [u64]>,
    /// The stream's segment size (`TCP_INFO`'s MSS), for the share of segments retransmitted.
    pub segment_bytes: Option<u64>,
}

/// Which part of the stream a figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Before the change, while the bucket lasted.
    Burst,
    /// After it, held to the baseline.
    Baseline,
    /// The whole stream (it found no burst then baseline).
    Whole,
}

impl Stage {
    /// In words, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Burst => "burst",
            Stage::Baseline => "baseline",
            Stage::Whole => "whole test",
        }
    }
}

/// The probes and retransmits of one regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLatency {
    /// Which.
    pub stage: Stage,
    /// Its span, from the start of the measured window.
    pub from_ns: u64,
    /// End of its span.
    pub to_ns: u64,
    /// Probes sent in it.
    pub probes: u64,
    /// Of those, never answered.
    pub lost: u64,
    /// Round trips of the answered probes.
    pub rtt: LatencyHistogram,
    /// Their median, 99th percentile and largest; absent when none came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ns: Option<u64>,
    /// 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ns: Option<u64>,
    /// Largest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ns: Option<u64>,
    /// The stream's retransmitted segments over the intervals wholly inside the span; absent
    /// when the sender could not read them or no interval fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u64>,
    /// Length of those intervals, for a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmit_span_ns: Option<u64>,
    /// Segments the stream sent in that span, from the regime's rate and the segment size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<u64>,
    /// `retransmits / segments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmit_share: Option<f64>,
}

impl StageLatency {
    /// Share of its probes lost (0 when none were sent).
    pub fn loss_share(&self) -> f64 {
        if self.probes == 0 {
            0.0
        } else {
            self.lost as f64 / self.probes as f64
        }
    }

    /// Retransmitted segments per second, when known.
    pub fn retransmits_per_sec(&self) -> Option<f64> {
        let span = self.retransmit_span_ns.filter(|s| *s > 0)?;
        Some(self.retransmits? as f64 * 1e9 / span as f64)
    }
}

/// One interval of the probe series, for charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalLatency {
    /// Probes sent in it.
    pub probes: u64,
    /// Of those, never answered.
    pub lost: u64,
    /// Median round trip of the answered ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ns: Option<u64>,
    /// Their 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ns: Option<u64>,
    /// The stream's retransmitted segments in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u64>,
}

/// What the limit does to traffic beyond the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadVerdict {
    /// Round trips grow at the baseline, little is lost: a shaper's queue.
    Queues,
    /// Round trips stay flat, probes are lost: a policer or a short queue.
    Drops,
    /// Both grow.
    QueuesAndDrops,
    /// Neither: the baseline regime looks like the burst.
    Neither,
    /// No burst then baseline to compare (or too few probes in one of them).
    NotMeasured,
}

/// Latency under load: per regime, per interval, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedLatency {
    /// Probes sent per second.
    pub probes_per_sec: f64,
    /// Burst and baseline, or the whole test when there was no change.
    pub stages: Vec<StageLatency>,
    /// Per interval of the stream's measured window.
    pub intervals: Vec<IntervalLatency>,
    /// What the limit does.
    pub verdict: LoadVerdict,
    /// The verdict in a sentence with its figures (`queues: p99 rises from 1.2 ms to 201 ms`).
    pub summary: String,
}

impl LoadedLatency {
    /// The figures of one stage, when it was measured.
    pub fn stage(&self, stage: Stage) -> Option<&StageLatency> {
        self.stages.iter().find(|s| s.stage == stage)
    }
}

/// Send time of probe `i`, from the start of the measured window.
fn sent_at_ns(i: usize, per_sec: f64) -> u64 {
    (i as f64 * 1e9 / per_sec) as u64
}

fn stage_of(
    (stage, from_ns, to_ns): (Stage, u64, u64),
    stream_bits_per_sec: f64,
    series: &ProbeSeries<'_>,
    window_ns: u64,
) -> StageLatency {
    let mut rtt = LatencyHistogram::new();
    let (mut probes, mut lost) = (0u64, 0u64);
    for (i, r) in series.rtt_ns.iter().enumerate() {
        let at = sent_at_ns(i, series.per_sec);
        if at < from_ns || at >= to_ns {
            continue;
        }
        probes += 1;
        match r {
            Some(ns) => rtt.record(*ns),
            None => lost += 1,
        }
    }
    // Whole intervals only: an interval across the change holds some of each regime.
    let interval = series.interval_ns.max(1);
    let (retransmits, retransmit_span_ns) = match series.interval_retransmits {
        Some(per_interval) => {
            let inside: Vec<(u64, u64)> = per_interval
                .iter()
                .enumerate()
                .filter_map(|(k, n)| {
                    let start = k as u64 * interval;
                    let end = (start + interval).min(window_ns);
                    (start >= from_ns && end <= to_ns && end > start).then_some((*n, end - start))
                })
                .collect();
            if inside.is_empty() {
                (None, None)
            } else {
                (
                    Some(inside.iter().map(|(n, _)| n).sum()),
                    Some(inside.iter().map(|(_, d)| d).sum()),
                )
            }
        }
        None => (None, None),
    };
    let summary = rtt.summary();
    let segments = match (retransmit_span_ns, series.segment_bytes) {
        (Some(span), Some(segment)) if segment > 0 && stream_bits_per_sec > 0.0 => {
            let n = stream_bits_per_sec / 8.0 * span as f64 / 1e9 / segment as f64;
            (n >= 1.0).then_some(n.round() as u64)
        }
        _ => None,
    };
    let retransmit_share = retransmits
        .zip(segments)
        .map(|(n, of)| n as f64 / of as f64);
    StageLatency {
        stage,
        from_ns,
        to_ns,
        probes,
        lost,
        p50_ns: summary.as_ref().map(|s| s.p50_ns),
        p99_ns: summary.as_ref().map(|s| s.p99_ns),
        max_ns: summary.as_ref().map(|s| s.max_ns),
        rtt,
        retransmits,
        retransmit_span_ns,
        segments,
        retransmit_share,
    }
}

fn intervals(series: &ProbeSeries<'_>, window_ns: u64) -> Vec<IntervalLatency> {
    let interval = series.interval_ns.max(1);
    let count = window_ns.div_ceil(interval) as usize;
    let mut hists = vec![LatencyHistogram::new(); count];
    let mut out: Vec<IntervalLatency> = (0..count)
        .map(|k| IntervalLatency {
            probes: 0,
            lost: 0,
            p50_ns: None,
            p99_ns: None,
            retransmits: series.interval_retransmits.and_then(|r| r.get(k).copied()),
        })
        .collect();
    for (i, r) in series.rtt_ns.iter().enumerate() {
        let k = (sent_at_ns(i, series.per_sec) / interval) as usize;
        let Some(slot) = out.get_mut(k) else { continue };
        slot.probes += 1;
        match r {
            Some(ns) => hists[k].record(*ns),
            None => slot.lost += 1,
        }
    }
    for (slot, h) in out.iter_mut().zip(&hists) {
        if let Some(s) = h.summary() {
            slot.p50_ns = Some(s.p50_ns);
            slot.p99_ns = Some(s.p99_ns);
        }
    }
    out
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

fn p99(s: &StageLatency) -> String {
    s.p99_ns
        .map(|ns| format_ns(ns as f64))
        .unwrap_or_else(|| "none back".into())
}

/// What was lost at the burst and at the baseline: probes, and the share of the stream's
/// segments retransmitted (or its retransmits per second without a segment size).
fn loss_words(burst: &StageLatency, baseline: &StageLatency) -> String {
    let mut out = format!(
        "probes lost {} at the burst, {} at the baseline",
        percent(burst.loss_share()),
        percent(baseline.loss_share())
    );
    let share = |s: &StageLatency| s.retransmit_share.map(percent);
    let rate = |s: &StageLatency| s.retransmits_per_sec().map(|r| format!("{r:.1}/s"));
    let unread = || "unread".to_owned();
    if share(burst).is_some() || share(baseline).is_some() {
        out.push_str(&format!(
            "; segments retransmitted {} at the burst, {} at the baseline",
            share(burst).unwrap_or_else(unread),
            share(baseline).unwrap_or_else(unread)
        ));
    } else if rate(burst).is_some() || rate(baseline).is_some() {
        out.push_str(&format!(
            "; the stream retransmitted {} at the burst, {} at the baseline",
            rate(burst).unwrap_or_else(unread),
            rate(baseline).unwrap_or_else(unread)
        ));
    }
    out
}

/// Reads the probes of a stream whose `window_ns`-long measured window held `regime`.
pub fn analyze(series: &ProbeSeries<'_>, regime: &Regime, window_ns: u64) -> LoadedLatency {
    let intervals = intervals(series, window_ns);
    // Not measured, over the whole window, with a summary read off that whole stage.
    let not_measured = |summary: &dyn Fn(&StageLatency) -> String| {
        let rate = match regime {
            Regime::Flat { bits_per_sec, .. } => *bits_per_sec,
            _ => 0.0,
        };
        let s = stage_of((Stage::Whole, 0, window_ns), rate, series, window_ns);
        LoadedLatency {
            probes_per_sec: series.per_sec,
            summary: summary(&s),
            stages: vec![s],
            intervals: intervals.clone(),
            verdict: LoadVerdict::NotMeasured,
        }
    };
    let whole = |why: String| {
        not_measured(&|s| {
            format!(
                "not measured: {why}; over the whole test p99 {} and {} of probes lost",
                p99(s),
                percent(s.loss_share())
            )
        })
    };
    // Not one probe back: the path carries no UDP to the port (a firewall or security group),
    // not a limit that drops everything while the stream still flows.
    if !series.rtt_ns.is_empty() && series.rtt_ns.iter().all(Option::is_none) {
        return not_measured(&|_| {
            format!(
                "not measured: none of {} probes came back: a firewall or security group may \
                 block UDP to the server's data port (allow it between the probes)",
                series.rtt_ns.len()
            )
        });
    }
    let Some(b) = regime.burst_baseline() else {
        return whole(format!(
            "the stream found no burst then baseline ({})",
            regime.describe()
        ));
    };
    let guard = (series.interval_ns as f64 * GUARD_SHARE_OF_INTERVAL) as u64;
    let burst = stage_of(
        (Stage::Burst, 0, b.change_ns.saturating_sub(guard)),
        b.burst_bits_per_sec,
        series,
        window_ns,
    );
    let baseline = stage_of(
        (
            Stage::Baseline,
            b.change_ns.saturating_add(guard).min(window_ns),
            window_ns,
        ),
        b.baseline_bits_per_sec.median,
        series,
        window_ns,
    );
    let too_few = [&burst, &baseline]
        .into_iter()
        .find(|s| s.probes < MIN_PROBES);
    if let Some(s) = too_few {
        let mut out = whole(format!(
            "{} probes in the {} (at least {MIN_PROBES} needed: probe faster or run longer)",
            s.probes,
            s.stage.name()
        ));
        out.stages = vec![burst, baseline];
        return out;
    }
    let (verdict, summary) = judge(&burst, &baseline);
    LoadedLatency {
        probes_per_sec: series.per_sec,
        stages: vec![burst, baseline],
        intervals,
        verdict,
        summary,
    }
}

/// The verdict from the two regimes, in words with its figures.
fn judge(burst: &StageLatency, baseline: &StageLatency) -> (LoadVerdict, String) {
    let queues = match (burst.p50_ns, baseline.p50_ns) {
        (Some(a), Some(b)) => {
            b as f64 >= a as f64 * QUEUE_RISE_FACTOR && b.saturating_sub(a) >= QUEUE_RISE_MIN_NS
        }
        _ => false,
    };
    let drops = baseline.loss_share() >= DROP_SHARE
        || baseline.retransmit_share.is_some_and(|r| r >= DROP_SHARE);
    let p50 = |s: &StageLatency| {
        s.p50_ns
            .map_or_else(|| "none back".into(), |ns| format_ns(ns as f64))
    };
    let rise = format!(
        "p99 rises from {} to {} (p50 from {} to {})",
        p99(burst),
        p99(baseline),
        p50(burst),
        p50(baseline)
    );
    let flat = format!(
        "p99 {} at the burst, {} at the baseline",
        p99(burst),
        p99(baseline)
    );
    let loss = loss_words(burst, baseline);
    match (queues, drops) {
        (true, false) => (
            LoadVerdict::Queues,
            format!("queues: {rise}; drops stay rare ({loss})"),
        ),
        (false, true) => (
            LoadVerdict::Drops,
            format!("drops: {loss}; round trips flat ({flat})"),
        ),
        (true, true) => (
            LoadVerdict::QueuesAndDrops,
            format!("queues and drops: {rise}; {loss}"),
        ),
        (false, false) => (
            LoadVerdict::Neither,
            format!("neither: round trips flat ({flat}), {loss}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::BurstBaseline;
    use crate::stats::SampleSummary;

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    fn burst_then_baseline(change_ns: u64, window_ns: u64) -> Regime {
        Regime::BurstThenBaseline(BurstBaseline {
            burst_bits_per_sec: 400e6,
            burst_duration_ns: change_ns,
            burst_bytes_above_baseline: 100_000_000,
            baseline_bits_per_sec: SampleSummary::from_values(&[50e6, 50e6, 50e6]).unwrap(),
            change_ns,
            baseline_held_ns: window_ns - change_ns,
            drop_ratio: Some(8.0),
        })
    }

    /// 50 probes/s over 10 s with the change at 4 s: the round trip and whether it came back,
    /// as functions of the send time.
    fn probes(rtt: impl Fn(u64) -> Option<u64>) -> Vec<Option<u64>> {
        (0..500).map(|i| rtt(sent_at_ns(i, 50.0))).collect()
    }

    fn series<'a>(rtt: &'a [Option<u64>], retransmits: Option<&'a [u64]>) -> ProbeSeries<'a> {
        ProbeSeries {
            per_sec: 50.0,
            rtt_ns: rtt,
            interval_ns: S,
            interval_retransmits: retransmits,
            segment_bytes: None,
        }
    }

    #[test]
    fn a_queue_at_the_baseline_is_named_with_its_p99s() {
        // Burst: 0.3 ms; baseline: the queue's 200 ms; one probe in 500 lost.
        let rtt = probes(|t| match t {
            t if t == 9 * S => None,
            t if t < 4 * S => Some(300_000),
            _ => Some(200 * MS),
        });
        let retransmits = [0, 0, 0, 0, 1, 0, 0, 2, 0, 0];
        let got = analyze(
            &series(&rtt, Some(&retransmits)),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::Queues, "{}", got.summary);
        let (burst, baseline) = (
            got.stage(Stage::Burst).unwrap(),
            got.stage(Stage::Baseline).unwrap(),
        );
        // The guard keeps half an interval each side of the change out of both.
        assert_eq!((burst.from_ns, burst.to_ns), (0, 3_500 * MS));
        assert_eq!((baseline.from_ns, baseline.to_ns), (4_500 * MS, 10 * S));
        assert_eq!(
            (burst.probes, baseline.probes, baseline.lost),
            (175, 275, 1)
        );
        assert!(burst.p99_ns.unwrap().abs_diff(300_000) < 1_000);
        assert!(baseline.p99_ns.unwrap().abs_diff(200 * MS) < MS);
        // Whole intervals: 0-3 s before the change, 5-10 s after.
        assert_eq!(
            (burst.retransmits, burst.retransmit_span_ns),
            (Some(0), Some(3 * S))
        );
        assert_eq!(
            (baseline.retransmits, baseline.retransmit_span_ns),
            (Some(2), Some(5 * S))
        );
        assert!(
            got.summary.starts_with("queues: p99 rises from 300"),
            "{}",
            got.summary
        );
        assert!(got.summary.contains("200"), "{}", got.summary);
        assert!(
            got.summary.ends_with(
                "probes lost 0.0 % at the burst, 0.4 % at the baseline; the stream \
                 retransmitted 0.0/s at the burst, 0.4/s at the baseline)"
            ),
            "{}",
            got.summary
        );
        assert_eq!(got.intervals.len(), 10);
        assert_eq!(got.intervals[9].lost, 1);
        assert_eq!(got.intervals[7].retransmits, Some(2));
    }

    #[test]
    fn drops_with_flat_round_trips_are_named_as_drops() {
        // Every tenth probe lost at the baseline, round trips 0.4 ms throughout.
        let rtt = probes(|t| (t < 4 * S || !(t / (20 * MS)).is_multiple_of(10)).then_some(400_000));
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::Drops, "{}", got.summary);
        let baseline = got.stage(Stage::Baseline).unwrap();
        assert!(
            (baseline.loss_share() - 0.1).abs() < 0.01,
            "{}",
            baseline.loss_share()
        );
        assert_eq!(baseline.retransmits, None);
        // Probes 225-499 (4.5-10 s): 27 of 275 are multiples of ten.
        assert!(
            got.summary
                .starts_with("drops: probes lost 0.0 % at the burst, 9.8 % at the baseline"),
            "{}",
            got.summary
        );
        assert!(
            !got.summary.contains("retransmit"),
            "none read: {}",
            got.summary
        );
    }

    #[test]
    fn segments_retransmitted_are_drops_even_when_every_probe_comes_back() {
        // A byte-limited queue turns away full segments but finds room for probes: 141
        // retransmits a second of 47.7 Mbit/s in 1448-byte segments is 3.4 % of them.
        let rtt = probes(|_| Some(1_600_000));
        let retransmits = [300, 300, 300, 300, 141, 141, 141, 141, 141, 141];
        let mut s = series(&rtt, Some(&retransmits));
        s.segment_bytes = Some(1448);
        let mut regime = burst_then_baseline(4 * S, 10 * S);
        if let Regime::BurstThenBaseline(b) = &mut regime {
            b.baseline_bits_per_sec = SampleSummary::from_values(&[47.7e6; 3]).unwrap();
        }
        let got = analyze(&s, &regime, 10 * S);
        assert_eq!(got.verdict, LoadVerdict::Drops, "{}", got.summary);
        let share = got
            .stage(Stage::Baseline)
            .unwrap()
            .retransmit_share
            .unwrap();
        assert!((share - 0.0342).abs() < 0.001, "{share}");
        assert!(
            got.summary.starts_with(
                "drops: probes lost 0.0 % at the burst, 0.0 % at the baseline; segments \
                 retransmitted 0.9 % at the burst, 3.4 % at the baseline; round trips flat"
            ),
            "{}",
            got.summary
        );
    }

    #[test]
    fn rare_losses_at_the_baseline_are_not_drops() {
        // One probe in 200 lost throughout: under the 1 % a dropping limit shows.
        let rtt = probes(|t| ((t / (20 * MS)) % 200 != 7).then_some(400_000));
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::Neither, "{}", got.summary);
        let rtt = probes(|t| (!(t / (20 * MS)).is_multiple_of(10)).then_some(400_000));
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(
            got.verdict,
            LoadVerdict::Drops,
            "lossy at both, still a dropping limit"
        );
        assert!(
            got.summary.contains("lost 10.3 % at the burst"),
            "{}",
            got.summary
        );
    }

    #[test]
    fn both_rising_is_queues_and_drops() {
        let rtt = probes(|t| match t {
            t if t < 4 * S => Some(300_000),
            t if (t / (20 * MS)).is_multiple_of(5) => None,
            _ => Some(80 * MS),
        });
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::QueuesAndDrops, "{}", got.summary);
    }

    #[test]
    fn a_small_rise_is_jitter_not_a_queue() {
        // p99 triples, but by 2 ms: under the 5 ms a queue must add.
        let rtt = probes(|t| Some(if t < 4 * S { MS } else { 3 * MS }));
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::Neither, "{}", got.summary);
        assert!(
            got.summary.starts_with("neither: round trips flat"),
            "{}",
            got.summary
        );
    }

    #[test]
    fn a_tail_that_grows_while_the_median_holds_is_not_a_queue() {
        // Every twentieth baseline probe stalls 40 ms (a busy host); the rest stay at 1.6 ms.
        let rtt = probes(|t| {
            Some(match t {
                t if t < 4 * S => 500_000,
                t if (t / (20 * MS)).is_multiple_of(20) => 40 * MS,
                _ => 1_600_000,
            })
        });
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::Neither, "{}", got.summary);
        assert!(got.stage(Stage::Baseline).unwrap().p99_ns.unwrap() > 30 * MS);
    }

    #[test]
    fn no_probe_back_at_all_is_a_blocked_path_not_a_dropping_limit() {
        let rtt = probes(|_| None);
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(4 * S, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::NotMeasured, "{}", got.summary);
        assert_eq!(
            got.summary,
            "not measured: none of 500 probes came back: a firewall or security group may block \
             UDP to the server's data port (allow it between the probes)"
        );
    }

    #[test]
    fn a_flat_stream_is_not_measured_but_its_figures_are_kept() {
        let rtt = probes(|_| Some(500_000));
        let flat = Regime::Flat {
            bits_per_sec: 1e9,
            ran_ns: 10 * S,
            may_be_burst_only: true,
        };
        let got = analyze(&series(&rtt, None), &flat, 10 * S);
        assert_eq!(got.verdict, LoadVerdict::NotMeasured);
        assert_eq!(got.stages.len(), 1);
        assert_eq!(got.stages[0].stage, Stage::Whole);
        assert_eq!(got.stages[0].probes, 500);
        assert!(
            got.summary
                .starts_with("not measured: the stream found no burst"),
            "{}",
            got.summary
        );
    }

    #[test]
    fn a_burst_too_short_for_probes_says_how_to_fix_it() {
        // Change at 0.6 s: the burst stage ends at 0.1 s and holds 5 probes.
        let rtt = probes(|_| Some(500_000));
        let got = analyze(
            &series(&rtt, None),
            &burst_then_baseline(600 * MS, 10 * S),
            10 * S,
        );
        assert_eq!(got.verdict, LoadVerdict::NotMeasured);
        assert!(
            got.summary.contains("5 probes in the burst"),
            "{}",
            got.summary
        );
        assert!(
            got.summary.contains("probe faster or run longer"),
            "{}",
            got.summary
        );
        assert_eq!(got.stages.len(), 2, "both stages are kept for the record");
    }

    #[test]
    fn probes_past_the_window_are_left_out_of_the_intervals() {
        let rtt: Vec<Option<u64>> = (0..20).map(|_| Some(1_000)).collect();
        let s = ProbeSeries {
            per_sec: 10.0,
            rtt_ns: &rtt,
            interval_ns: S,
            interval_retransmits: Some(&[3]),
            segment_bytes: Some(1448),
        };
        let got = analyze(&s, &burst_then_baseline(600 * MS, S), S);
        assert_eq!(got.intervals.len(), 1);
        assert_eq!(got.intervals[0].probes, 10);
        assert_eq!(got.intervals[0].retransmits, Some(3));
    }
}
