//! Summaries across repetitions: every aggregate carries its spread and a 95 % confidence
//! interval, so no single run is ever presented as "the" number.
//!
//! Latency percentiles are *not* computed here: they come from merged histograms
//! ([`crate::LatencyHistogram::merge`]); averaging percentiles is wrong.

use serde::{Deserialize, Serialize};

/// Mean, median, extremes, spread and a Student-t 95 % confidence interval of the mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleSummary {
    /// Number of values.
    pub n: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (mean of the two middle values for even `n`).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sample standard deviation (n - 1); absent for a single value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev: Option<f64>,
    /// Lower bound of the 95 % confidence interval of the mean; absent below two values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95_low: Option<f64>,
    /// Upper bound of the 95 % confidence interval of the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95_high: Option<f64>,
    /// Values outside Tukey's fences ([`tukey_outliers`]): kept in every figure above, flagged
    /// so a reader looks at them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<f64>,
}

impl SampleSummary {
    /// Summarises finite values; non-finite values are ignored. `None` when nothing is left.
    pub fn from_values(values: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let median = median_of_sorted(&sorted);
        let (stddev, ci95_low, ci95_high) = if n >= 2 {
            let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = var.sqrt();
            let half = student_t_975(n - 1) * sd / (n as f64).sqrt();
            (Some(sd), Some(mean - half), Some(mean + half))
        } else {
            (None, None, None)
        };
        Some(Self {
            n: n as u64,
            mean,
            median,
            min: sorted[0],
            max: sorted[n - 1],
            stddev,
            ci95_low,
            ci95_high,
            outliers: tukey_outliers(&sorted),
        })
    }

    /// Coefficient of variation (`stddev / mean`), when defined.
    pub fn cv(&self) -> Option<f64> {
        match self.stddev {
            Some(sd) if self.mean != 0.0 => Some(sd / self.mean),
            _ => None,
        }
    }

    /// True when both summaries have intervals and those intervals share a point.
    pub fn ci_overlaps(&self, other: &SampleSummary) -> Option<bool> {
        let (a_lo, a_hi) = (self.ci95_low?, self.ci95_high?);
        let (b_lo, b_hi) = (other.ci95_low?, other.ci95_high?);
        Some(a_lo <= b_hi && b_lo <= a_hi)
    }
}

/// Median of an already sorted, non-empty slice.
pub fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The 97.5 % quantile of Student's t distribution with `df` degrees of freedom (two-sided 95 %).
///
/// Exact table values up to 30 degrees of freedom, then the values at 40, 60 and 120 with linear
/// interpolation in `1/df`, approaching the normal 1.96.
pub fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    const TAIL: [(f64, f64); 4] = [(30.0, 2.042), (40.0, 2.021), (60.0, 2.000), (120.0, 1.980)];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let x = 1.0 / df as f64;
            for pair in TAIL.windows(2) {
                let ((d0, t0), (d1, t1)) = (pair[0], pair[1]);
                if (df as f64) <= d1 {
                    let (x0, x1) = (1.0 / d0, 1.0 / d1);
                    return t0 + (t1 - t0) * (x - x0) / (x1 - x0);
                }
            }
            // Between 120 and infinity (x = 0, t = 1.96).
            let x0 = 1.0 / 120.0;
            1.960 + (1.980 - 1.960) * x / x0
        }
    }
}

/// Values outside Tukey's fences (1.5 IQR beyond the quartiles): reported, never dropped.
pub fn tukey_outliers(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.len() < 4 {
        return Vec::new();
    }
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    let (q1, q3) = (q(0.25), q(0.75));
    let iqr = q3 - q1;
    let (low, high) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    values
        .iter()
        .copied()
        .filter(|v| *v < low || *v > high)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_summary() {
        // mean 5, sample sd = sqrt(10/4) = 1.5811, t(4) = 2.776, half = 2.776 * 1.5811 / sqrt(5)
        let s = SampleSummary::from_values(&[3.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
        assert_eq!(
            (s.n, s.mean, s.median, s.min, s.max),
            (5, 5.0, 5.0, 3.0, 7.0)
        );
        let sd = s.stddev.unwrap();
        assert!((sd - 1.581_138_8).abs() < 1e-6);
        let half = 2.776 * sd / 5f64.sqrt();
        assert!((s.ci95_low.unwrap() - (5.0 - half)).abs() < 1e-9);
        assert!((s.ci95_high.unwrap() - (5.0 + half)).abs() < 1e-9);
    }

    #[test]
    fn single_value_has_no_spread() {
        let s = SampleSummary::from_values(&[42.0]).unwrap();
        assert_eq!(s.median, 42.0);
        assert!(s.stddev.is_none() && s.ci95_low.is_none() && s.cv().is_none());
    }

    #[test]
    fn even_count_median_is_the_middle_mean() {
        assert_eq!(
            SampleSummary::from_values(&[4.0, 1.0, 3.0, 2.0])
                .unwrap()
                .median,
            2.5
        );
    }

    #[test]
    fn empty_and_non_finite_give_none() {
        assert!(SampleSummary::from_values(&[]).is_none());
        assert!(SampleSummary::from_values(&[f64::NAN, f64::INFINITY]).is_none());
    }

    #[test]
    fn t_quantiles_fall_towards_normal() {
        assert_eq!(student_t_975(1), 12.706);
        assert_eq!(student_t_975(30), 2.042);
        assert!((student_t_975(60) - 2.000).abs() < 1e-9);
        assert!(student_t_975(45) < 2.021 && student_t_975(45) > 2.000);
        assert!(student_t_975(100_000) > 1.96 && student_t_975(100_000) < 1.961);
    }

    #[test]
    fn summaries_flag_outliers_and_keep_them() {
        let s = SampleSummary::from_values(&[10.0, 11.0, 10.5, 10.2, 25.0]).unwrap();
        assert_eq!(s.outliers, [25.0]);
        assert_eq!(s.max, 25.0, "flagged, never dropped");
        assert!(SampleSummary::from_values(&[1.0, 2.0, 3.0])
            .unwrap()
            .outliers
            .is_empty());
    }

    #[test]
    fn tukey_flags_the_far_value_only() {
        let values = [10.0, 10.2, 9.9, 10.1, 10.0, 25.0];
        assert_eq!(tukey_outliers(&values), vec![25.0]);
    }

    #[test]
    fn overlap_of_intervals() {
        let a = SampleSummary::from_values(&[10.0, 11.0, 12.0]).unwrap();
        let b = SampleSummary::from_values(&[11.0, 12.0, 13.0]).unwrap();
        let c = SampleSummary::from_values(&[100.0, 101.0, 102.0]).unwrap();
        assert_eq!(a.ci_overlaps(&b), Some(true));
        assert_eq!(a.ci_overlaps(&c), Some(false));
    }

    proptest! {
        #[test]
        fn summary_is_ordered(values in prop::collection::vec(-1e9f64..1e9, 1..50)) {
            let s = SampleSummary::from_values(&values).unwrap();
            prop_assert!(s.min <= s.median && s.median <= s.max);
            prop_assert!(s.min <= s.mean + 1e-6 && s.mean <= s.max + 1e-6);
            if let (Some(lo), Some(hi)) = (s.ci95_low, s.ci95_high) {
                prop_assert!(lo <= s.mean && s.mean <= hi);
            }
        }
    }
}
