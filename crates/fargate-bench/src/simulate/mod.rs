//! `fargate-bench simulate`: what a workload's own traffic gets on each measured size.
//!
//! A [`Profile`] (what the workload offers over time) is replayed by [`model::replay`] against
//! each size's token bucket as a run measured it (burst rate, bucket, baseline; the refill
//! rate where a refill test measured it, else the baseline, and said so). Per size: the
//! seconds throttled, the bytes delayed, the largest backlog and how long a backlog lasted,
//! when the profile was delivered, and what running that size for the profile's length costs;
//! then the cheapest size that never throttles it. A size whose bucket was not read is listed
//! as not measured: it is never simulated on a guess.

pub mod model;
pub mod profile;

use probe_core::report::Direction;

use crate::error::{BenchError, Result};
use crate::summary::{direction_name, Merged, NetRow, Placement};
pub use model::{Bucket, Outcome, Sample};
pub use profile::Profile;

/// The test whose series carries the bucket.
const BULK_TEST: &str = "tcp-stream";

/// Steps per replay at most (a day's profile is replayed in steps of about 0.09 s).
const MAX_STEPS: f64 = 1e6;

/// A size's bucket as measured, and how it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeasuredBucket {
    /// Median burst rate, bits per second.
    pub burst_bits_per_sec: f64,
    /// Median bytes above the baseline during the burst.
    pub bucket_bytes: f64,
    /// Median baseline, bits per second.
    pub baseline_bits_per_sec: f64,
    /// Refill rate used, bits per second.
    pub refill_bits_per_sec: f64,
    /// The refill was not measured: the baseline rate was assumed.
    pub refill_assumed: bool,
    /// Where the refill rate comes from, in words: the refill test that measured it, or why
    /// the baseline was assumed.
    pub refill_from: String,
    /// Repetitions the figures are medians of.
    pub repetitions: u64,
}

impl MeasuredBucket {
    fn model(&self) -> Bucket {
        Bucket {
            burst_bytes_per_sec: self.burst_bits_per_sec / 8.0,
            bucket_bytes: self.bucket_bytes,
            baseline_bytes_per_sec: self.baseline_bits_per_sec / 8.0,
            refill_bytes_per_sec: self.refill_bits_per_sec / 8.0,
        }
    }
}

/// One size's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SizeOutcome {
    /// The size (and architecture).
    pub size: Placement,
    /// The bucket replayed against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<MeasuredBucket>,
    /// Why there is none: the size is listed, never simulated on a guess.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_measured: Option<String>,
    /// The replay (with a bucket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// USD for running one task of this size for the profile's length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl SizeOutcome {
    /// Whether the profile went through with nothing waiting.
    pub fn never_throttled(&self) -> bool {
        self.outcome
            .as_ref()
            .is_some_and(|o| o.throttled_secs == 0.0)
    }
}

/// What `simulate` answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Simulation {
    /// The profile, as named.
    pub profile: String,
    /// Its length, seconds.
    pub profile_secs: f64,
    /// Bytes it offers.
    pub offered_bytes: f64,
    /// Its highest rate, bits per second.
    pub peak_bits_per_sec: f64,
    /// The direction whose bucket was used.
    pub direction: &'static str,
    /// Replay step, seconds.
    pub step_secs: f64,
    /// What was assumed (said in every output).
    pub assumptions: Vec<String>,
    /// Every size seen in the results, in size order.
    pub sizes: Vec<SizeOutcome>,
    /// The cheapest size that never throttled the profile, when one did not and had a price.
    pub cheapest_unthrottled: Option<Placement>,
}

/// Replays `profile` against the bucket of every size in `runs`, for traffic in `direction`
/// (a task sending is `client->server` in a tcp-stream test).
///
/// # Errors
/// [`BenchError::Simulate`] when no run holds a tcp-stream test in that direction at all.
pub fn simulate(profile: &Profile, runs: &[Merged], direction: Direction) -> Result<Simulation> {
    let mut by_size: std::collections::BTreeMap<Placement, Vec<&NetRow>> = Default::default();
    let mut any_bulk = false;
    for run in runs {
        for row in &run.summary.network {
            let bulk = row.kind == BULK_TEST && row.direction == Some(direction);
            any_bulk |= bulk;
            let rows = by_size.entry(row.size).or_default();
            if bulk {
                rows.push(row);
            }
        }
        for row in &run.summary.memory_bandwidth {
            by_size.entry(row.size).or_default();
        }
    }
    if !any_bulk {
        return Err(BenchError::Simulate {
            why: format!(
                "no results directory holds a {BULK_TEST} test {}: run one with \
                 `--test tcp-stream` (with `until_baseline` so the bucket is read)",
                direction_name(direction)
            ),
        });
    }
    let step_secs = (profile.duration_secs() / MAX_STEPS)
        .max(profile.shortest_segment_secs() / 10.0)
        .clamp(0.001, 1.0);
    let mut assumptions = profile.assumptions.clone();
    let mut sizes = Vec::new();
    for (size, rows) in by_size {
        let (bucket, not_measured) = match read_bucket(&rows) {
            Ok(b) => (Some(b), None),
            Err(why) => (None, Some(why)),
        };
        let outcome = bucket
            .as_ref()
            .map(|b| model::replay(profile, &b.model(), step_secs));
        let hourly = rows.iter().find_map(|r| r.cost_per_hour);
        let cost_usd = outcome
            .as_ref()
            .zip(hourly)
            .map(|(o, h)| h * o.delivered_by_secs.max(o.profile_secs) / 3600.0);
        sizes.push(SizeOutcome {
            size,
            bucket,
            not_measured,
            outcome,
            cost_usd,
        });
    }
    let refill_at = |assumed: bool| -> Vec<String> {
        sizes
            .iter()
            .filter(|s| {
                s.bucket
                    .as_ref()
                    .is_some_and(|b| b.refill_assumed == assumed)
            })
            .map(|s| s.size.to_string())
            .collect()
    };
    let (assumed, measured) = (refill_at(true), refill_at(false));
    if !assumed.is_empty() {
        assumptions.push(format!(
            "refill: at {} a bucket refills at its baseline rate (as Linux tbf does): no refill \
             test measured it (run one with `refill = [\"5m\", \"15m\"]`, or the sizing-refill \
             preset)",
            assumed.join(", ")
        ));
    }
    if !measured.is_empty() {
        assumptions.push(format!(
            "refill: at {} a bucket refills at the rate its refill test measured (the median \
             over every re-burst)",
            measured.join(", ")
        ));
    }
    assumptions.push(
        "each size starts with a full bucket, and figures are medians over repetitions".into(),
    );
    let cheapest_unthrottled = sizes
        .iter()
        .filter(|s| s.never_throttled())
        .filter_map(|s| s.cost_usd.map(|c| (c, s.size)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, size)| size);
    Ok(Simulation {
        profile: profile.source.clone(),
        profile_secs: profile.duration_secs(),
        offered_bytes: profile.total_bytes(),
        peak_bits_per_sec: profile.peak_bits_per_sec(),
        direction: direction_name(direction),
        step_secs,
        assumptions,
        sizes,
        cheapest_unthrottled,
    })
}

/// The bucket of a size's bulk rows (the one with the most repetitions), or why none is used.
fn read_bucket(rows: &[&NetRow]) -> std::result::Result<MeasuredBucket, String> {
    if rows.is_empty() {
        return Err(format!(
            "not measured: no {BULK_TEST} test in this direction"
        ));
    }
    let Some((row, b)) = rows
        .iter()
        .filter_map(|r| r.bucket.as_ref().map(|b| (r, b)))
        .max_by_key(|(_, b)| b.repetitions)
    else {
        let seen: Vec<String> = rows
            .iter()
            .flat_map(|r| {
                r.regimes
                    .iter()
                    .map(|(k, n)| format!("{n}x {}", k.replace('_', " ")))
            })
            .collect();
        return Err(format!(
            "not measured: no burst then baseline in its series ({}); run longer or with \
             until_baseline",
            if seen.is_empty() {
                "no series".into()
            } else {
                seen.join(", ")
            }
        ));
    };
    let baseline = b.baseline_bits_per_sec.median;
    if !(baseline > 0.0 && b.burst_bits_per_sec.median > 0.0) {
        return Err(format!(
            "not measured: {} read a baseline of {baseline} bit/s",
            row.what()
        ));
    }
    let (refill_bits_per_sec, refill_from) = match read_refill(rows) {
        Ok((rate, from)) => (Some(rate), from),
        Err(why) => (None, why),
    };
    Ok(MeasuredBucket {
        burst_bits_per_sec: b.burst_bits_per_sec.median,
        bucket_bytes: b.burst_bytes_above_baseline.median.max(0.0),
        baseline_bits_per_sec: baseline,
        refill_bits_per_sec: refill_bits_per_sec.unwrap_or(baseline),
        refill_assumed: refill_bits_per_sec.is_none(),
        refill_from,
        repetitions: b.repetitions,
    })
}

/// The refill rate a refill test measured at this size and direction (the test with the most
/// readings), with where it comes from; else why the baseline is assumed.
fn read_refill(rows: &[&NetRow]) -> std::result::Result<(f64, String), String> {
    let tested: Vec<&NetRow> = rows
        .iter()
        .copied()
        .filter(|r| r.refill.is_some())
        .collect();
    let measured = tested
        .iter()
        .filter_map(|r| Some((*r, r.refill.as_ref()?.refill_bits_per_sec.as_ref()?)))
        .filter(|(_, rate)| rate.median.is_finite() && rate.median >= 0.0)
        .max_by_key(|(_, rate)| rate.n);
    match (measured, tested.first()) {
        (Some((row, rate)), _) => Ok((
            rate.median,
            format!(
                "measured: median of {} re-burst(s) of {}",
                rate.n,
                row.what()
            ),
        )),
        (None, Some(row)) => Err(format!(
            "assumed = baseline: {} measured no rate (every re-burst found the bucket full \
             again, or the drain found no bucket); idle less to measure it",
            row.what()
        )),
        (None, None) => Err("assumed = baseline: no refill test".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use probe_core::stats::SampleSummary;

    use super::*;
    use crate::summary::{BucketRow, RefillRow};

    fn s(v: f64) -> SampleSummary {
        SampleSummary::from_values(&[v]).unwrap()
    }

    /// A tcp-stream row at `size` with a bucket (burst and baseline in bit/s, bucket in
    /// bytes), or a flat series when `bucket` is `None`.
    fn stream(size: &str, bucket: Option<(f64, f64, f64)>, hourly: f64) -> NetRow {
        let mut row = crate::export::tests::fixed_document()
            .summary
            .network
            .into_iter()
            .find(|r| r.kind == "tcp-stream")
            .unwrap();
        row.size = size.parse().unwrap();
        row.cost_per_hour = Some(hourly);
        row.regimes = BTreeMap::from([(
            if bucket.is_some() {
                "burst_then_baseline"
            } else {
                "flat"
            }
            .to_owned(),
            3,
        )]);
        row.refill = None;
        row.bucket = bucket.map(|(burst, bytes, baseline)| BucketRow {
            repetitions: 3,
            burst_bits_per_sec: s(burst),
            burst_duration_ns: s(1e9),
            burst_bytes_above_baseline: s(bytes),
            baseline_bits_per_sec: s(baseline),
            burst_gbit_per_sec_per_dollar_hour: None,
        });
        row
    }

    fn runs(rows: Vec<NetRow>) -> Vec<Merged> {
        let mut doc = crate::export::tests::fixed_document();
        doc.summary.network = rows;
        doc.summary.memory_bandwidth.truncate(1); // 0.25x0.5 X86_64: memory only
        vec![doc]
    }

    #[test]
    fn the_cheapest_size_that_never_throttles_is_named_and_unread_buckets_are_not_guessed() {
        // 1 Gbit/s (125 MB/s) for 60 s every 10 minutes, over an hour: 7.5 GB a burst.
        let profile = Profile::load("1G for 60s every 10m over 1h").unwrap();
        let results = runs(vec![
            // 1 GB of credit: runs dry 10 s into each burst (125 - 12.5 MB/s drains it).
            stream("1x2", Some((5e9, 1e9, 100e6)), 0.05),
            // 10 GB: a burst spends 6 GB, 540 s idle at 25 MB/s earns 13.5 GB back.
            stream("2x4", Some((5e9, 10e9, 200e6)), 0.10),
            stream("4x8", Some((10e9, 50e9, 1e9)), 0.20),
            // Flat: the bucket was not read.
            stream("1x4", None, 0.07),
        ]);
        let sim = simulate(&profile, &results, Direction::ClientToServer).unwrap();
        let by = |size: &str| {
            let p: Placement = size.parse().unwrap();
            sim.sizes.iter().find(|s| s.size == p).unwrap()
        };
        let small = by("1x2").outcome.as_ref().unwrap();
        // After credit runs out (1 GB / 112.5 MB/s = 8.9 s) the rest of the burst waits.
        assert!(small.throttled_secs > 6.0 * 51.0, "{small:?}");
        assert!(small.max_backlog_bytes > 5e9, "{small:?}");
        assert!(by("2x4").never_throttled() && by("4x8").never_throttled());
        assert_eq!(sim.cheapest_unthrottled, Some("2x4".parse().unwrap()));
        // An hour of a 0.10 $/h task.
        assert!((by("2x4").cost_usd.unwrap() - 0.10).abs() < 1e-9);
        let flat = by("1x4");
        assert!(flat.outcome.is_none() && flat.cost_usd.is_none());
        assert!(
            flat.not_measured.as_ref().unwrap().contains("3x flat"),
            "{flat:?}"
        );
        let memory_only = by("0.25x0.5 X86_64");
        assert!(memory_only
            .not_measured
            .as_ref()
            .unwrap()
            .contains("no tcp-stream"));
        assert!(
            sim.assumptions.iter().any(|a| {
                a.contains(
                "refill: at 1x2, 2x4, 4x8 a bucket refills at its baseline rate (as Linux tbf does)"
            )
            }),
            "{:?}",
            sim.assumptions
        );
        assert!(by("2x4").bucket.as_ref().unwrap().refill_assumed);
    }

    /// `row` with a refill test that measured `rate` bit/s over one re-burst, or, with `None`,
    /// found the bucket full every time.
    fn with_refill(mut row: NetRow, rate: Option<f64>) -> NetRow {
        row.refill = Some(RefillRow {
            repetitions: 1,
            refill_bits_per_sec: rate.map(s),
            refill_to_baseline: None,
            full_refill_ns: None,
            idles: Vec::new(),
            saturates_at_bucket: None,
            verdicts: BTreeMap::from([("slower_than_baseline".into(), 1)]),
            verdict: probe_core::refill::RefillVerdict::SlowerThanBaseline,
        });
        row
    }

    /// Issue 24: where a refill test measured the rate, the bucket refills at it, and every
    /// output says which rate each size used and whether it was measured or assumed.
    #[test]
    fn a_measured_refill_replaces_the_baseline_and_each_size_says_which_it_used() {
        // 1 Gbit/s for 60 s every 10 minutes, an hour: each burst spends (125 - 25) x 60 = 6 GB
        // of 2x4's 10 GB. At its baseline rate (25 MB/s) 540 s quiet earn it all back; at the
        // measured 50 Mbit/s (6.25 MB/s) they earn 3.375 GB: the credit before each burst is
        // 10, 4 + 3.375, 1.375 + 3.375 = 4.75 GB; the third runs dry after 4.75 / 0.1 = 47.5 s.
        // From then on every burst queues; the sixth starts with 2.535 GB and leaves
        // (60 - 25.35) x 100 MB = 3.465 GB waiting at 3060 s.
        let profile = Profile::load("1G for 60s every 10m over 1h").unwrap();
        let results = runs(vec![
            with_refill(stream("2x4", Some((5e9, 10e9, 200e6)), 0.10), Some(50e6)),
            stream("4x8", Some((10e9, 50e9, 1e9)), 0.20),
            // The bucket was full again after every idle time: no rate, the baseline assumed.
            with_refill(stream("8x16", Some((10e9, 50e9, 1e9)), 0.40), None),
            // A refill rate, but no bucket: not simulated all the same.
            with_refill(stream("1x4", None, 0.07), Some(50e6)),
        ]);
        let sim = simulate(&profile, &results, Direction::ClientToServer).unwrap();
        let by = |size: &str| {
            let p: Placement = size.parse().unwrap();
            sim.sizes.iter().find(|s| s.size == p).unwrap()
        };
        let slow = by("2x4");
        let bucket = slow.bucket.as_ref().unwrap();
        assert_eq!(bucket.refill_bits_per_sec, 50e6);
        assert!(!bucket.refill_assumed);
        assert!(
            bucket
                .refill_from
                .starts_with("measured: median of 1 re-burst(s) of tcp-stream"),
            "{}",
            bucket.refill_from
        );
        let o = slow.outcome.as_ref().unwrap();
        assert!((o.max_backlog_bytes / 3.465e9 - 1.0).abs() < 0.01, "{o:?}");
        assert!((o.max_backlog_at_secs - 3060.0).abs() <= 1.0, "{o:?}");
        // 62.5 + 146.9 + 168.0 + 173.2 s in four queues (1 s steps).
        assert!((o.throttled_secs - 550.6).abs() < 5.0, "{o:?}");
        assert_eq!(sim.cheapest_unthrottled, Some("4x8".parse().unwrap()));
        let full = by("8x16").bucket.as_ref().unwrap();
        assert!(full.refill_assumed && full.refill_bits_per_sec == 1e9);
        assert!(
            full.refill_from.contains("measured no rate"),
            "{}",
            full.refill_from
        );
        assert!(by("4x8")
            .bucket
            .as_ref()
            .unwrap()
            .refill_from
            .contains("no refill test"));
        assert!(by("1x4").bucket.is_none() && by("1x4").outcome.is_none());
        for said in [
            "refill: at 4x8, 8x16 a bucket refills at its baseline rate",
            "refill: at 2x4 a bucket refills at the rate its refill test measured",
        ] {
            assert!(
                sim.assumptions.iter().any(|a| a.starts_with(said)),
                "{said}: {:?}",
                sim.assumptions
            );
        }
    }

    #[test]
    fn results_without_a_stream_in_that_direction_are_refused_with_the_fix() {
        let results = runs(vec![stream("1x2", Some((5e9, 1e9, 100e6)), 0.05)]);
        let err = simulate(
            &Profile::constant(1e9, 60.0),
            &results,
            Direction::ServerToClient,
        )
        .unwrap_err();
        assert!(err.to_string().contains("server->client") && err.to_string().contains("--test"));
    }
}
