//! One bucket or two ([`TestRequest::shared_bucket`], `netprobe client --shared-bucket`): drain
//! the requested direction until its baseline holds, then at once run the other direction
//! until its own baseline holds, and say whether the second found the bucket the first emptied
//! ([`probe_core::bucket_sharing`]).
//!
//! One control session of two phases, like a refill test: the drain, then (as soon as both
//! sides have sent their result of it) new data connections with the flow reversed, ended by
//! the until-baseline rule. A token bucket belongs to the task's interface, not to a
//! connection, so the new connections meet the same bucket; and one session is one test, so a
//! `--once` server (one per controller item) serves it. A UDP test keeps its socket pair for
//! both phases: a reverse stream's server answers only the address it first heard from.

use probe_core::regime::{self, DetectorConfig, Regime};
use probe_core::report::Direction;
use probe_core::Report;

use crate::protocol::{Flow, TestRequest};

/// The request of the second phase: the same test in the other direction.
pub(crate) fn other_direction(req: &TestRequest) -> TestRequest {
    let mut other = req.clone();
    other.flow = match req.flow {
        Flow::Reverse => Flow::Forward,
        _ => Flow::Reverse,
    };
    other
}

/// The regime of a report's (one) direction; undecided when it measured no throughput.
fn regime_of(r: &Report) -> Regime {
    r.metrics
        .throughput
        .first()
        .and_then(|t| t.regime.clone())
        .unwrap_or(Regime::Undecided {
            ran_ns: r.measured_duration_ns,
            why: "no throughput was measured".into(),
        })
}

/// The other direction's regime, read from its interval series allowing a burst of one
/// interval: what refilled in the moment between the two phases is spent within one interval,
/// and [`probe_core::bucket_sharing::analyze`] then weighs those bytes against the drained
/// bucket. With the default two intervals, UDP at 300 Mbit/s through one shared tbf read one
/// high half-second, then the drained baseline for 19.5 s, as "undecided" (in a full test run).
fn other_regime(other: &Report) -> Regime {
    let series: Vec<regime::Sample> = other
        .intervals
        .iter()
        .filter(|i| i.transactions.is_none())
        .map(|i| regime::Sample {
            start_ns: i.start_ns,
            duration_ns: i.duration_ns,
            bits_per_sec: i.bits_per_sec,
        })
        .collect();
    if series.is_empty() {
        return regime_of(other);
    }
    let config = DetectorConfig {
        min_burst_samples: 1,
        ..DetectorConfig::default()
    };
    regime::detect(&series, &config)
}

/// Puts the verdict into the drain's `report` from the other direction's report (`other`,
/// built from the second phase), and adds the other phase's warnings, marked as such.
pub(crate) fn conclude(req: &TestRequest, report: &mut Report, other: Report) {
    let drained = match req.flow {
        Flow::Reverse => Direction::ServerToClient,
        _ => Direction::ClientToServer,
    };
    report.metrics.bucket_sharing = Some(probe_core::bucket_sharing::analyze(
        drained,
        &regime_of(report),
        &other_regime(&other),
    ));
    report.warnings.extend(
        other
            .warnings
            .into_iter()
            .map(|w| format!("the other direction: {w}")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_core::bucket_sharing::SharingVerdict;
    use probe_core::regime::{detect, Sample};
    use probe_core::report::Throughput;
    use std::time::Duration;

    const S: u64 = 1_000_000_000;

    /// A report of one direction whose series runs `burst` for `burst_s` seconds, then `base`.
    fn report(direction: Direction, burst: f64, burst_s: u64, base: f64) -> Report {
        let mut r = Report::new("netprobe", "0", probe_core::Role::Client, "tcp-stream");
        let series: Vec<Sample> = (0..20u64)
            .map(|i| Sample {
                start_ns: i * S,
                duration_ns: S,
                bits_per_sec: if i < burst_s { burst } else { base },
            })
            .collect();
        r.metrics.throughput.push(Throughput {
            direction,
            received_bytes: 0,
            measured_ns: 20 * S,
            bits_per_sec: 0.0,
            streams: Vec::new(),
            regime: Some(detect(&series, &Default::default())),
        });
        r
    }

    #[test]
    fn the_second_phase_runs_the_other_way_and_the_verdict_names_the_drained_one() {
        let mut req = TestRequest::tcp_stream(Duration::from_secs(30));
        req.baseline_hold_ms = Some(3_000);
        req.shared_bucket = true;
        assert_eq!(other_direction(&req).flow, Flow::Reverse);
        req.flow = Flow::Reverse;
        let other = other_direction(&req);
        assert_eq!(other.flow, Flow::Forward);
        assert!(other.shared_bucket && other.baseline_hold_ms == Some(3_000));

        // Drained server to client (400 then 50 Mbit/s); the other way starts at 50: shared.
        let mut drained = report(Direction::ServerToClient, 400e6, 8, 50e6);
        let mut flat = report(Direction::ClientToServer, 50e6, 0, 50e6);
        flat.warnings.push("a warning".into());
        conclude(&req, &mut drained, flat);
        let s = drained.metrics.bucket_sharing.as_ref().unwrap();
        assert_eq!(
            (s.drained, s.verdict),
            (Direction::ServerToClient, SharingVerdict::Shared)
        );
        assert_eq!(drained.warnings, ["the other direction: a warning"]);

        // The other way bursts as long again: two buckets.
        let mut drained = report(Direction::ServerToClient, 400e6, 8, 50e6);
        let fresh = report(Direction::ClientToServer, 400e6, 8, 50e6);
        conclude(&req, &mut drained, fresh);
        let verdict = drained.metrics.bucket_sharing.unwrap().verdict;
        assert_eq!(verdict, SharingVerdict::Separate);
    }

    #[test]
    fn a_refill_burst_of_one_interval_before_the_drained_baseline_is_one_shared_bucket() {
        let mut req = TestRequest::new(
            crate::protocol::TestKind::UdpStream,
            Duration::from_secs(20),
        );
        req.baseline_hold_ms = Some(3_000);
        req.shared_bucket = true;
        req.flow = Flow::Reverse;
        let mut drained = report(Direction::ServerToClient, 300e6, 8, 48.5e6);
        // Half-second intervals: 160 Mbit/s (what refilled between the phases), then 48.5.
        let mut other = Report::new("netprobe", "0", probe_core::Role::Client, "udp-stream");
        for i in 0..40u64 {
            let bps = if i == 0 { 160e6 } else { 48.5e6 };
            other.intervals.push(probe_core::report::IntervalSample {
                direction: Some(Direction::ClientToServer),
                start_ns: i * S / 2,
                duration_ns: S / 2,
                bytes: (bps / 16.0) as u64,
                bits_per_sec: bps,
                transactions: None,
                cpu_bound: false,
            });
        }
        conclude(&req, &mut drained, other);
        let s = drained.metrics.bucket_sharing.unwrap();
        assert_eq!(s.verdict, SharingVerdict::Shared, "{}", s.summary);
    }
}
