//! Burst, then baseline: reading a token bucket out of a throughput series.
//!
//! Fargate's task network (and a `tc tbf` with `peakrate`) lets a task send at a burst rate
//! until a bucket of bytes is spent, then holds it to a lower baseline. A run that sees both
//! has three answers, the burst rate, how long (how many bytes) it lasted and the baseline,
//! and its mean is none of them. [`detect`] finds the one step down that splits a series into
//! a high segment and a lower one that *stays* lower; it says `flat` when there is none and
//! `undecided` when the series cannot tell (too short, or a drop that has not held).
//!
//! The split minimises the absolute deviation of each segment from its median, so a single
//! dip, a slow TCP start or 10 % noise moves neither median, and a dip cannot pass for a
//! baseline because the samples after it come back above the midpoint. Pure: it takes the
//! samples and returns numbers, so it is tested on synthetic series.

use serde::{Deserialize, Serialize};

use crate::stats::SampleSummary;

/// One interval of a throughput series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Start, from the start of the series.
    pub start_ns: u64,
    /// Length.
    pub duration_ns: u64,
    /// Rate over the interval.
    pub bits_per_sec: f64,
}

/// How the detector decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// The baseline must be at most this share of the burst (0.7: a drop of 30 % or more).
    pub max_baseline_share: f64,
    /// Samples the lower segment needs before it counts as a baseline.
    pub min_baseline_samples: usize,
    /// Samples the high segment needs before it counts as a burst.
    pub min_burst_samples: usize,
    /// Share of a segment's samples allowed on the other side of the midpoint (dips, spikes).
    pub max_strays: f64,
    /// Below this many samples nothing is decided.
    pub min_samples: usize,
    /// The longest burst published for Fargate: a flat run shorter than this may be all burst.
    pub longest_known_burst_ns: u64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            max_baseline_share: 0.7,
            min_baseline_samples: 3,
            min_burst_samples: 2,
            max_strays: 0.2,
            min_samples: 5,
            // 2024 measurements: up to 1,120 s at 1 vCPU / 4 GB; 19 minutes covers them.
            longest_known_burst_ns: 19 * 60 * 1_000_000_000,
        }
    }
}

/// What a series holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Regime {
    /// A burst, then a lower rate that held.
    BurstThenBaseline(BurstBaseline),
    /// One rate throughout.
    Flat {
        /// Median rate.
        bits_per_sec: f64,
        /// Length of the series.
        ran_ns: u64,
        /// The run was shorter than the longest published burst: its rate may be burst only.
        may_be_burst_only: bool,
    },
    /// The series cannot tell.
    Undecided {
        /// Length of the series.
        ran_ns: u64,
        /// Why, in words: `ran 4 s, too few samples to decide`.
        why: String,
    },
}

/// The three answers of a token bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurstBaseline {
    /// Median rate of the burst segment.
    pub burst_bits_per_sec: f64,
    /// From the start of the series to the change.
    pub burst_duration_ns: u64,
    /// Bytes sent above the baseline during the burst: the bucket.
    pub burst_bytes_above_baseline: u64,
    /// The baseline segment: median, spread and 95 % CI.
    pub baseline_bits_per_sec: SampleSummary,
    /// When the rate changed, from the start of the series (interpolated inside the interval
    /// that holds the change).
    pub change_ns: u64,
    /// How long the baseline has held, up to the end of the series.
    pub baseline_held_ns: u64,
    /// Burst median over baseline median (absent for a baseline of zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_ratio: Option<f64>,
}

impl Regime {
    /// The baseline, when there is one.
    pub fn burst_baseline(&self) -> Option<&BurstBaseline> {
        match self {
            Regime::BurstThenBaseline(b) => Some(b),
            _ => None,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        use crate::units::{format_bits_per_sec, format_bytes};
        match self {
            Regime::BurstThenBaseline(b) => format!(
                "burst {} for {:.1} s ({} above the baseline), then baseline {} (held {:.1} s)",
                format_bits_per_sec(b.burst_bits_per_sec),
                b.burst_duration_ns as f64 / 1e9,
                format_bytes(b.burst_bytes_above_baseline),
                format_bits_per_sec(b.baseline_bits_per_sec.median),
                b.baseline_held_ns as f64 / 1e9
            ),
            Regime::Flat {
                bits_per_sec,
                ran_ns,
                may_be_burst_only,
            } => format!(
                "flat at {} over {:.0} s{}",
                format_bits_per_sec(*bits_per_sec),
                *ran_ns as f64 / 1e9,
                if *may_be_burst_only {
                    "; shorter than the longest published Fargate burst (19 min), so this may \
                     be the burst alone"
                } else {
                    ""
                }
            ),
            Regime::Undecided { why, .. } => format!("undecided: {why}"),
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    crate::stats::median_of_sorted(values)
}

/// Sum of absolute deviations from the median: the cost of one segment.
fn cost(values: &[f64], scratch: &mut Vec<f64>) -> (f64, f64) {
    scratch.clear();
    scratch.extend_from_slice(values);
    let m = median(scratch);
    (values.iter().map(|v| (v - m).abs()).sum(), m)
}

/// Finds a burst followed by a baseline in `series` (in time order, equal intervals except
/// perhaps the last).
pub fn detect(series: &[Sample], config: &DetectorConfig) -> Regime {
    let samples: Vec<Sample> = series
        .iter()
        .copied()
        .filter(|s| s.bits_per_sec.is_finite() && s.duration_ns > 0)
        .collect();
    let ran_ns = samples
        .last()
        .map(|s| s.start_ns.saturating_add(s.duration_ns))
        .unwrap_or(0)
        .saturating_sub(samples.first().map_or(0, |s| s.start_ns));
    let secs = ran_ns as f64 / 1e9;
    // Found by fuzzing the iperf3 reader: a series whose starts go backwards made the arithmetic
    // below underflow. Such a series is not a time series; say so instead of guessing.
    if let Some(i) = samples
        .windows(2)
        .position(|w| w[1].start_ns < w[0].start_ns)
    {
        return Regime::Undecided {
            ran_ns,
            why: format!(
                "sample {} starts before the one ahead of it: the series is not in time order",
                i + 1
            ),
        };
    }
    if samples.len() < config.min_samples {
        return Regime::Undecided {
            ran_ns,
            why: format!(
                "ran {secs:.0} s in {} samples, too few to decide (at least {})",
                samples.len(),
                config.min_samples
            ),
        };
    }
    let values: Vec<f64> = samples.iter().map(|s| s.bits_per_sec).collect();
    let n = values.len();
    let mut scratch = Vec::with_capacity(n);
    let (flat_cost, flat_median) = cost(&values, &mut scratch);
    let flat = || Regime::Flat {
        bits_per_sec: flat_median,
        ran_ns,
        may_be_burst_only: ran_ns < config.longest_known_burst_ns,
    };
    // Candidate: the least-squares split (prefix sums, O(n)), then the robust cost decides
    // among it and its neighbours, so one wild sample cannot drag the change point.
    let Some(candidate) = least_squares_split(&values) else {
        return flat();
    };
    let (k, split_cost, burst, baseline) = (candidate.saturating_sub(1)..=candidate + 1)
        .filter(|k| (1..n).contains(k))
        .map(|k| {
            let (lc, left) = cost(&values[..k], &mut scratch);
            let (rc, right) = cost(&values[k..], &mut scratch);
            (k, lc + rc, left, right)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("a split exists for two samples or more");
    let is_drop = burst > 0.0 && baseline <= burst * config.max_baseline_share;
    // A split that explains little of the variation is noise, not a regime change.
    let explains = flat_cost > 0.0 && split_cost <= 0.5 * flat_cost;
    if !is_drop || !explains {
        return flat();
    }
    let mid = (burst + baseline) / 2.0;
    let strays = |seg: &[f64], high: bool| {
        seg.iter().filter(|v| (**v < mid) == high).count() as f64 / seg.len() as f64
    };
    if strays(&values[..k], true) > config.max_strays
        || strays(&values[k..], false) > config.max_strays
    {
        // Several dips, or a rate that comes back: not one bucket running out.
        return Regime::Undecided {
            ran_ns,
            why: format!(
                "ran {secs:.0} s; the rate moves between {} and {} without settling",
                crate::units::format_bits_per_sec(baseline),
                crate::units::format_bits_per_sec(burst)
            ),
        };
    }
    if n - k < config.min_baseline_samples || k < config.min_burst_samples {
        return Regime::Undecided {
            ran_ns,
            why: format!(
                "ran {secs:.0} s; a drop at {:.0} s has not held long enough to call it a \
                 baseline",
                (samples[k].start_ns - samples[0].start_ns) as f64 / 1e9
            ),
        };
    }
    let t0 = samples[0].start_ns;
    // The change lies inside whichever edge sample sits between the two rates; a sample that
    // holds both is neither burst nor baseline.
    let share = |s: &Sample| (s.bits_per_sec - baseline) / (burst - baseline);
    let mixed = |f: f64| (0.1..0.9).contains(&f);
    let (change_abs, baseline_from) = if mixed(share(&samples[k])) {
        let s = samples[k];
        (
            s.start_ns + (share(&s) * s.duration_ns as f64) as u64,
            k + 1,
        )
    } else if mixed(share(&samples[k - 1])) {
        let s = samples[k - 1];
        (s.start_ns + (share(&s) * s.duration_ns as f64) as u64, k)
    } else {
        (samples[k].start_ns, k)
    };
    let baseline_values = if baseline_from < n {
        &values[baseline_from..]
    } else {
        &values[k..]
    };
    let baseline_summary =
        SampleSummary::from_values(baseline_values).expect("a baseline segment is finite");
    // Bytes above the baseline until the change: the bucket a token-bucket shaper held.
    let bytes_above: f64 = samples
        .iter()
        .filter(|s| s.start_ns < change_abs)
        .map(|s| (s.bits_per_sec - baseline).max(0.0) / 8.0 * s.duration_ns as f64 / 1e9)
        .sum();
    let change_ns = change_abs - t0;
    Regime::BurstThenBaseline(BurstBaseline {
        burst_bits_per_sec: burst,
        burst_duration_ns: change_ns,
        burst_bytes_above_baseline: bytes_above.round() as u64,
        baseline_bits_per_sec: baseline_summary,
        change_ns,
        baseline_held_ns: ran_ns.saturating_sub(change_ns),
        drop_ratio: (baseline > 0.0).then(|| burst / baseline),
    })
}

/// The split `k` (segments `..k` and `k..`) with the least total squared error.
fn least_squares_split(values: &[f64]) -> Option<usize> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let (mut sum, mut sq) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    for (i, v) in values.iter().enumerate() {
        sum[i + 1] = sum[i] + v;
        sq[i + 1] = sq[i] + v * v;
    }
    let sse = |a: usize, b: usize| {
        let len = (b - a) as f64;
        let s = sum[b] - sum[a];
        (sq[b] - sq[a]) - s * s / len
    };
    (1..n).min_by(|&a, &b| (sse(0, a) + sse(a, n)).total_cmp(&(sse(0, b) + sse(b, n))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn series(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                start_ns: i as u64 * S,
                duration_ns: S,
                bits_per_sec: *v,
            })
            .collect()
    }

    fn step(burst: f64, burst_secs: usize, baseline: f64, baseline_secs: usize) -> Vec<f64> {
        let mut v = vec![burst; burst_secs];
        v.extend(vec![baseline; baseline_secs]);
        v
    }

    /// A small deterministic generator, so noise tests repeat exactly.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Uniform in [-1, 1).
        fn signed(&mut self) -> f64 {
            2.0 * self.next() - 1.0
        }
    }

    #[test]
    fn a_series_out_of_time_order_is_undecided_not_a_panic() {
        let mut series: Vec<Sample> = (0..20u64)
            .map(|i| Sample {
                start_ns: i * 1_000_000_000,
                duration_ns: 1_000_000_000,
                bits_per_sec: if i < 10 { 4e9 } else { 1e8 },
            })
            .collect();
        series.swap(3, 12);
        match detect(&series, &DetectorConfig::default()) {
            Regime::Undecided { why, .. } => assert!(why.contains("not in time order"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_clean_step_is_exact() {
        let r = detect(
            &series(&step(400e6, 8, 50e6, 12)),
            &DetectorConfig::default(),
        );
        let b = r.burst_baseline().expect("burst then baseline");
        assert_eq!(b.burst_bits_per_sec, 400e6);
        assert_eq!(b.baseline_bits_per_sec.median, 50e6);
        assert_eq!(b.change_ns, 8 * S);
        assert_eq!(b.burst_duration_ns, 8 * S);
        assert_eq!(b.baseline_held_ns, 12 * S);
        // 8 s at 350 Mbit/s above the baseline = 350 MB.
        assert_eq!(b.burst_bytes_above_baseline, 350_000_000);
        assert_eq!(b.drop_ratio, Some(8.0));
    }

    #[test]
    fn a_change_inside_an_interval_is_placed_inside_it() {
        // The bucket ran out 0.25 s into second 8: that second averages 137.5 Mbit/s.
        let mut v = step(400e6, 8, 50e6, 12);
        v[8] = 0.25 * 400e6 + 0.75 * 50e6;
        let b = detect(&series(&v), &DetectorConfig::default())
            .burst_baseline()
            .cloned()
            .unwrap();
        assert_eq!(b.change_ns, 8 * S + S / 4);
        assert_eq!(b.baseline_bits_per_sec.n, 11, "the mixed second is neither");
        // 8.25 s at 350 Mbit/s above the baseline.
        assert_eq!(b.burst_bytes_above_baseline, 360_937_500);
    }

    #[test]
    fn the_verdict_holds_under_ten_percent_noise() {
        let mut rng = Lcg(7);
        for _ in 0..200 {
            let v: Vec<f64> = step(4e9, 30, 0.5e9, 40)
                .into_iter()
                .map(|x| x * (1.0 + 0.1 * rng.signed()))
                .collect();
            let r = detect(&series(&v), &DetectorConfig::default());
            let b = r.burst_baseline().unwrap_or_else(|| panic!("{r:?}"));
            assert!((b.burst_bits_per_sec / 4e9 - 1.0).abs() < 0.05, "{b:?}");
            assert!(
                (b.baseline_bits_per_sec.median / 0.5e9 - 1.0).abs() < 0.05,
                "{b:?}"
            );
            assert!(b.change_ns.abs_diff(30 * S) <= S, "{b:?}");
        }
    }

    #[test]
    fn no_change_is_called_on_a_thousand_random_flat_series() {
        let mut rng = Lcg(42);
        for i in 0..1000 {
            let n = 5 + (rng.next() * 120.0) as usize;
            let level = 1e8 + rng.next() * 1e10;
            let noise = rng.next() * 0.1;
            let v: Vec<f64> = (0..n)
                .map(|_| level * (1.0 + noise * rng.signed()))
                .collect();
            let r = detect(&series(&v), &DetectorConfig::default());
            assert!(
                r.burst_baseline().is_none(),
                "series {i} ({n} samples, noise {noise:.3}): {r:?}"
            );
        }
    }

    #[test]
    fn a_single_dip_is_not_a_baseline() {
        let mut v = vec![1e9; 30];
        v[12] = 0.1e9;
        let r = detect(&series(&v), &DetectorConfig::default());
        assert!(matches!(r, Regime::Flat { .. }), "{r:?}");
    }

    #[test]
    fn a_slow_tcp_start_is_not_a_baseline() {
        let mut v = vec![1e9; 30];
        v[0] = 0.2e9;
        v[1] = 0.6e9;
        let r = detect(&series(&v), &DetectorConfig::default());
        assert!(matches!(r, Regime::Flat { .. }), "{r:?}");
        // And a ramp into a real step keeps the step.
        let mut v = step(4e9, 20, 0.5e9, 20);
        v[0] = 1e9;
        let b = detect(&series(&v), &DetectorConfig::default())
            .burst_baseline()
            .cloned()
            .unwrap();
        assert_eq!(b.change_ns, 20 * S);
    }

    #[test]
    fn a_flat_run_says_when_it_may_be_all_burst() {
        let r = detect(&series(&[2e8; 10]), &DetectorConfig::default());
        let Regime::Flat {
            bits_per_sec,
            may_be_burst_only,
            ..
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!((bits_per_sec, may_be_burst_only), (2e8, true));
        assert!(
            r.describe().contains("may be the burst alone"),
            "{}",
            r.describe()
        );
        let long = series(&vec![2e8; 1200]);
        let r = detect(&long, &DetectorConfig::default());
        assert!(
            matches!(
                r,
                Regime::Flat {
                    may_be_burst_only: false,
                    ..
                }
            ),
            "{r:?}"
        );
    }

    #[test]
    fn too_short_or_not_yet_held_is_undecided() {
        let r = detect(&series(&[1e9, 1e9, 1e8]), &DetectorConfig::default());
        let Regime::Undecided { why, .. } = &r else {
            panic!("{r:?}")
        };
        assert!(why.contains("ran 3 s") && why.contains("too few"), "{why}");
        let r = detect(&series(&step(1e9, 10, 1e8, 2)), &DetectorConfig::default());
        let Regime::Undecided { why, .. } = &r else {
            panic!("{r:?}")
        };
        assert!(why.contains("not held"), "{why}");
        assert!(
            r.describe().starts_with("undecided: ran 12 s"),
            "{}",
            r.describe()
        );
    }

    #[test]
    fn a_rate_that_keeps_moving_is_undecided_not_a_bucket() {
        let v: Vec<f64> = (0..40)
            .map(|i| if (i / 3) % 2 == 0 { 1e9 } else { 1e8 })
            .collect();
        let r = detect(&series(&v), &DetectorConfig::default());
        assert!(r.burst_baseline().is_none(), "{r:?}");
    }

    #[test]
    fn nothing_odd_in_the_input_panics() {
        for v in [
            vec![],
            vec![0.0; 10],
            vec![f64::NAN; 10],
            vec![f64::INFINITY, 1.0, 2.0, 3.0, 4.0, 5.0],
            vec![-1.0, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9],
        ] {
            let _ = detect(&series(&v), &DetectorConfig::default());
        }
    }
}
