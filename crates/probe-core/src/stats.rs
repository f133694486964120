//! Summaries across repetitions: every aggregate carries its spread and a 95 % confidence
//! interval, so no single run is ever presented as "the" number.
//!
//! Latency percentiles are *not* computed here: they come from merged histograms
//! ([`crate::LatencyHistogram::merge`]); averaging percentiles is wrong.

use serde::{Deserialize, Serialize};

/// Mean, median, extremes, spread, a distribution-free 95 % confidence interval of the median
/// (order statistics: what reports print beside the median) and a Student-t 95 % confidence
/// interval of the mean.
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
    /// Lower bound of the 95 % confidence interval of the median ([`median_interval`]): a
    /// repetition's value, so a rate's interval never crosses zero. Absent below
    /// [`MIN_FOR_MEDIAN_INTERVAL`] values, where no order statistics reach 95 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ci95_low: Option<f64>,
    /// Upper bound of the 95 % confidence interval of the median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ci95_high: Option<f64>,
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
        let (median_ci95_low, median_ci95_high) = match median_interval(&sorted, 0.95) {
            Some((lo, hi)) => (Some(lo), Some(hi)),
            None => (None, None),
        };
        Some(Self {
            n: n as u64,
            mean,
            median,
            median_ci95_low,
            median_ci95_high,
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

    /// The 95 % interval of the median, when there are enough values for one.
    pub fn median_ci95(&self) -> Option<(f64, f64)> {
        self.median_ci95_low.zip(self.median_ci95_high)
    }

    /// True when both summaries have intervals of the mean and those intervals share a point.
    pub fn ci_overlaps(&self, other: &SampleSummary) -> Option<bool> {
        let (a_lo, a_hi) = (self.ci95_low?, self.ci95_high?);
        let (b_lo, b_hi) = (other.ci95_low?, other.ci95_high?);
        Some(a_lo <= b_hi && b_lo <= a_hi)
    }
}

/// Fewest values with a 95 % interval of the median from order statistics: with five, the
/// widest interval (minimum to maximum) covers the median with 1 - 2/32 = 93.75 % only.
pub const MIN_FOR_MEDIAN_INTERVAL: usize = 6;

/// A distribution-free confidence interval of the median of an already sorted slice: the
/// order statistics `x(k)` and `x(n+1-k)` (1-based) with the largest `k` whose coverage,
/// `1 - 2 P(Binomial(n, 1/2) < k)`, is at least `confidence`. Assumes only independent
/// repetitions of one distribution (no normality, unlike the t interval). `None` when even the
/// minimum and maximum do not reach `confidence`.
pub fn median_interval(sorted: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = sorted.len();
    if n == 0 || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    let tail = (1.0 - confidence) / 2.0;
    if n > 1_000 {
        // 2^-n underflows past about 1,000 values: the normal approximation of the binomial,
        // which is within one rank of the exact one there.
        let z = normal_quantile(1.0 - tail);
        let k = ((n as f64 / 2.0) - z * (n as f64).sqrt() / 2.0).floor() as usize;
        return (k >= 1).then(|| (sorted[k - 1], sorted[n - k]));
    }
    // P(B < k) for k = 1, 2, ...: the sum of C(n, i) / 2^n for i < k.
    let mut term = 0.5f64.powi(n as i32); // C(n, 0) / 2^n
    let mut below = 0.0;
    let mut best = None;
    for k in 1..=n.div_ceil(2) {
        below += term; // now P(B <= k - 1) = P(B < k)
        if below > tail + 1e-12 {
            break;
        }
        best = Some(k);
        term *= (n - (k - 1)) as f64 / k as f64; // C(n, k) from C(n, k - 1)
    }
    best.map(|k| (sorted[k - 1], sorted[n - k]))
}

/// The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9),
/// for `0 < p < 1`.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
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
    fn the_median_interval_is_the_order_statistics_the_binomial_gives() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        // n = 10: P(B <= 1) = 11/1024 = 1.07 % <= 2.5 %, P(B <= 2) = 56/1024 = 5.5 % > 2.5 %:
        // k = 2, the 2nd and 9th values (coverage 97.9 %).
        assert_eq!(median_interval(&values, 0.95), Some((2.0, 9.0)));
        // n = 6: P(B = 0) = 1/64 = 1.6 %: the minimum and maximum (96.9 %).
        assert_eq!(median_interval(&values[..6], 0.95), Some((1.0, 6.0)));
        // n = 5: 1/32 = 3.1 % > 2.5 %: no 95 % interval.
        assert_eq!(median_interval(&values[..5], 0.95), None);
        assert_eq!(MIN_FOR_MEDIAN_INTERVAL, 6);
        // n = 20 (from the binomial table): k = 6, the 6th and 15th values.
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median_interval(&twenty, 0.95), Some((6.0, 15.0)));
        // Past 1,000 values, the normal approximation: n = 2,000 gives k = 956.
        let many: Vec<f64> = (1..=2000).map(f64::from).collect();
        assert_eq!(median_interval(&many, 0.95), Some((956.0, 1045.0)));
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-6);
        let s = SampleSummary::from_values(&[5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 0.5]).unwrap();
        assert_eq!(s.median_ci95(), Some((0.5, 6.0)));
        assert!(SampleSummary::from_values(&[1.0, 2.0, 3.0])
            .unwrap()
            .median_ci95()
            .is_none());
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
            if let Some((lo, hi)) = s.median_ci95() {
                prop_assert!(s.min <= lo && lo <= s.median && s.median <= hi && hi <= s.max);
                prop_assert!(values.contains(&lo) && values.contains(&hi), "values, not estimates");
            }
        }
    }
}
