//! The refill test around the data plane: the threshold that ends a re-burst, and the
//! receiver's phases turned into [`probe_core::refill`]'s input.
//!
//! A refill test is one control session of several phases over the same data port: the drain
//! (an until-baseline `tcp-stream`), then per idle time the client's `Reburst`, its sleep, new
//! data connections and a re-burst that its receiver ends once the rate has stayed below the
//! threshold for the baseline hold. The link's quiet time before each re-burst is what the
//! receiver saw: from the last byte of the phase before to the first byte of this one.

use probe_core::refill::{self, ReburstSeries, Refill};
use probe_core::Report;

use crate::protocol::{SideResult, TestRequest};

/// The rate that ends a re-burst, from the drain's regime in `drained`; `None` when the drain
/// found no burst then baseline (there is no bucket to refill).
pub(crate) fn quiet_below(drained: &Report) -> Option<f64> {
    let regime = drained.metrics.throughput.first()?.regime.as_ref()?;
    Some(refill::quiet_below_bits_per_sec(regime.burst_baseline()?))
}

/// Bytes per interval over the streams `side` received on.
fn received_per_interval(side: &SideResult) -> Vec<u64> {
    let received = || side.streams.iter().filter(|s| !s.sender);
    let slots = received()
        .map(|s| s.interval_bytes.len())
        .max()
        .unwrap_or(0);
    (0..slots)
        .map(|i| {
            received()
                .map(|s| s.interval_bytes.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect()
}

/// The quiet time between two phases on the receiver: its last byte of `before` to its first
/// byte of `after`, over all streams.
fn quiet_ns(before: &SideResult, after: &SideResult) -> Option<u64> {
    let last = before
        .streams
        .iter()
        .filter(|s| !s.sender)
        .filter_map(|s| s.last_byte_ns)
        .max()?;
    let first = after
        .streams
        .iter()
        .filter(|s| !s.sender)
        .filter_map(|s| s.first_byte_ns)
        .min()?;
    first.checked_sub(last).filter(|q| *q > 0)
}

/// The refill from the receiving side's results: the drain (read in `drained`'s throughput)
/// and each re-burst, in order. `None` when the report has no throughput to read.
pub(crate) fn analyze(
    req: &TestRequest,
    drained: &Report,
    drain: &SideResult,
    rebursts: &[&SideResult],
) -> Option<Refill> {
    let t = drained.metrics.throughput.first()?;
    let regime = t.regime.as_ref()?;
    let cap_ns = req.duration_ms.saturating_mul(1_000_000);
    let per_interval: Vec<Vec<u64>> = rebursts.iter().map(|r| received_per_interval(r)).collect();
    let series: Vec<ReburstSeries<'_>> = rebursts
        .iter()
        .zip(&per_interval)
        .zip(&req.refill_idle_ms)
        .enumerate()
        .map(|(k, ((r, bytes), idle_ms))| {
            let before = if k == 0 { drain } else { rebursts[k - 1] };
            ReburstSeries {
                idle_ns: idle_ms.saturating_mul(1_000_000),
                quiet_ns: quiet_ns(before, r),
                interval_ns: req.interval_ms.saturating_mul(1_000_000),
                interval_bytes: bytes,
                measured_ns: r.measured_ns.min(cap_ns),
                reached_cap: r.measured_ns >= cap_ns,
            }
        })
        .collect();
    Some(refill::analyze(t.direction, regime, &series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::StreamSide;
    use std::time::Duration;

    const S: u64 = 1_000_000_000;

    fn received(first_ms: u64, last_ms: u64, intervals: &[u64], measured_ns: u64) -> SideResult {
        SideResult {
            measured_ns,
            streams: vec![
                StreamSide {
                    index: 0,
                    interval_bytes: intervals.to_vec(),
                    first_byte_ns: Some(first_ms * 1_000_000),
                    last_byte_ns: Some(last_ms * 1_000_000),
                    ..Default::default()
                },
                // A sender's stream on the same side counts for nothing.
                StreamSide {
                    index: 1,
                    sender: true,
                    interval_bytes: vec![1 << 40; intervals.len()],
                    first_byte_ns: Some(0),
                    last_byte_ns: Some(1 << 50),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn drained() -> Report {
        use probe_core::regime::{detect, Sample};
        use probe_core::report::{Direction, Throughput};
        let mut report = Report::new("netprobe", "0", probe_core::Role::Client, "tcp-stream");
        let series: Vec<Sample> = (0..20u64)
            .map(|i| Sample {
                start_ns: i * S,
                duration_ns: S,
                bits_per_sec: if i < 8 { 400e6 } else { 50e6 },
            })
            .collect();
        report.metrics.throughput.push(Throughput {
            direction: Direction::ClientToServer,
            received_bytes: 0,
            measured_ns: 20 * S,
            bits_per_sec: 0.0,
            streams: Vec::new(),
            regime: Some(detect(&series, &Default::default())),
        });
        report
    }

    #[test]
    fn the_receivers_phases_give_the_quiet_times_and_the_series() {
        let mut req = TestRequest::tcp_stream(Duration::from_secs(30));
        req.baseline_hold_ms = Some(3_000);
        req.refill_idle_ms = vec![4_000, 20_000];
        let base = 6_250_000;
        // The drain's last byte at 20.5 s; the re-bursts' first bytes 4.2 s and 20.1 s after the
        // phase before ended.
        let drain = received(0, 20_500, &[], 20 * S);
        let after_4 = received(
            24_700,
            28_600,
            &[base + 26_250_000, base, base, base],
            4 * S,
        );
        let after_20 = received(
            48_700,
            55_000,
            &[50_000_000, 50_000_000, base + 38_125_000, base, base, base],
            6 * S,
        );
        let report = drained();
        assert_eq!(quiet_below(&report), Some(137.5e6));
        let r = analyze(&req, &report, &drain, &[&after_4, &after_20]).unwrap();
        let q: Vec<u64> = r.rebursts.iter().map(|x| x.quiet_ns).collect();
        assert_eq!(q, [4_200_000_000, 20_100_000_000]);
        // 26.25 MB over 4.2 s and 125.625 MB over 20.1 s: 50 Mbit/s both.
        assert_eq!(r.rebursts[0].bytes_above_baseline, 26_250_000);
        assert!((r.rebursts[0].refill_bits_per_sec - 50e6).abs() < 1.0);
        assert!((r.rebursts[1].refill_bits_per_sec - 50e6).abs() < 1.0);
        assert_eq!(r.verdict, probe_core::refill::RefillVerdict::AtBaselineRate);
        assert!(!r.rebursts[0].reached_cap);
    }

    #[test]
    fn a_reburst_at_its_cap_and_missing_byte_times_fall_back_to_the_idle_time() {
        let mut req = TestRequest::tcp_stream(Duration::from_secs(4));
        req.baseline_hold_ms = Some(3_000);
        req.refill_idle_ms = vec![4_000];
        let mut capped = received(0, 0, &[50_000_000; 4], 4 * S);
        capped.streams[0].first_byte_ns = None;
        let drain = received(0, 20_000, &[], 20 * S);
        let r = analyze(&req, &drained(), &drain, &[&capped]).unwrap();
        assert!(r.rebursts[0].reached_cap);
        assert_eq!(r.rebursts[0].quiet_ns, 4 * S);
    }
}
