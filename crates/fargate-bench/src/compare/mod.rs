//! `fargate-bench compare A B`: the change of every headline two runs share, as a ratio with
//! its interval, and a change called only when that interval excludes "no change".
//!
//! Each row's figure is its headline ([`crate::summary::NetRow::headline`],
//! [`crate::summary::MemRow::headline`]): the baseline where a bucket was found, what a
//! throttled kernel sustains, the figure the reports show. The ratio's interval comes from the
//! two medians' distribution-free 95 % intervals ([`probe_core::stats::median_interval`]):
//! `[low B / high A, high B / low A]` holds the true ratio whenever both intervals hold their
//! medians, so it covers it at least 90 % of the time (conservatively more).
//!
//! [`gate`] is `--fail-if`: thresholds on those changes that fail a scheduled run.

pub mod gate;

use probe_core::stats::{SampleSummary, MIN_FOR_MEDIAN_INTERVAL};
use serde::Serialize;

use crate::summary::{Headline, Placement, Summary, Unit};

/// What a comparison can say of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The ratio's interval lies above 1.
    Higher,
    /// The ratio's interval lies below 1.
    Lower,
    /// The ratio's interval holds 1: the difference may be noise.
    NoChangeShown,
    /// A side has too few repetitions for an interval of its median.
    TooFewRepetitions,
    /// A's median is zero: no ratio to it.
    ZeroBaseline,
}

impl Verdict {
    /// In words, for tables and the page.
    pub fn words(self) -> String {
        match self {
            Verdict::Higher => "higher: the interval excludes no change".into(),
            Verdict::Lower => "lower: the interval excludes no change".into(),
            Verdict::NoChangeShown => "no change shown: the interval holds 1 (may be noise)".into(),
            Verdict::TooFewRepetitions => format!(
                "unknown: too few repetitions for an interval ({MIN_FOR_MEDIAN_INTERVAL} per run)"
            ),
            Verdict::ZeroBaseline => "unknown: A is zero, no ratio".into(),
        }
    }
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What (test, direction or kernel, figure, size).
    pub metric: String,
    /// Unit of `a` and `b`.
    pub unit: Unit,
    /// Median in A.
    pub a: f64,
    /// Median in B.
    pub b: f64,
    /// B's median over A's; absent when A's is zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// The interval of the ratio (see the module doc), when both medians have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_interval: Option<(f64, f64)>,
    /// What the interval says.
    pub verdict: Verdict,
}

impl Change {
    /// The change in percent (`+9.1 %`), or why there is none.
    pub fn percent(&self) -> String {
        match self.ratio {
            Some(r) => format!("{:+.1} %", (r - 1.0) * 100.0),
            None => "n/a (A is 0)".into(),
        }
    }

    /// The ratio's interval as changes in percent (`-2.0 % .. +15.3 %`), or `-`.
    pub fn interval(&self) -> String {
        self.ratio_interval.map_or_else(
            || "-".into(),
            |(lo, hi)| {
                format!(
                    "{:+.1} % .. {:+.1} %",
                    (lo - 1.0) * 100.0,
                    (hi - 1.0) * 100.0
                )
            },
        )
    }
}

/// (what, figure, placement) of a headline, and the headline.
fn keyed(s: &Summary) -> Vec<((String, &'static str, Placement), Headline<'_>)> {
    let net = s
        .network
        .iter()
        .filter_map(|r| Some(((r.what(), r.size), r.headline()?)));
    let mem = s
        .memory_bandwidth
        .iter()
        .map(|r| ((r.what(), r.size), r.headline()));
    net.chain(mem)
        .map(|((what, at), h)| ((what, h.kind.name(), at), h))
        .collect()
}

/// The ratio B/A of two medians, its interval and the verdict.
fn judge(a: &SampleSummary, b: &SampleSummary) -> (Option<f64>, Option<(f64, f64)>, Verdict) {
    if a.median == 0.0 {
        return (None, None, Verdict::ZeroBaseline);
    }
    let ratio = b.median / a.median;
    let (Some((a_lo, a_hi)), Some((b_lo, b_hi))) = (a.median_ci95(), b.median_ci95()) else {
        return (Some(ratio), None, Verdict::TooFewRepetitions);
    };
    // A's interval may reach zero (a repetition measured nothing): the ratio is then
    // unbounded above, and only a lower bound above 1 calls a change.
    let (lo, hi) = (
        b_lo / a_hi,
        if a_lo > 0.0 {
            b_hi / a_lo
        } else {
            f64::INFINITY
        },
    );
    let verdict = if lo > 1.0 {
        Verdict::Higher
    } else if hi < 1.0 {
        Verdict::Lower
    } else {
        Verdict::NoChangeShown
    };
    (Some(ratio), hi.is_finite().then_some((lo, hi)), verdict)
}

/// Headlines present in both summaries, in A's order.
pub fn compare(a: &Summary, b: &Summary) -> Vec<Change> {
    let bs = keyed(b);
    keyed(a)
        .into_iter()
        .filter_map(|(key, ha)| {
            let hb = bs.iter().find(|(k, h)| *k == key && h.unit == ha.unit)?.1;
            let (what, figure, at) = key;
            Some(change(
                format!("{what} {figure} at {at}"),
                ha.unit,
                ha.value,
                hb.value,
            ))
        })
        .collect()
}

/// The change of one figure from `a` to `b` (its values over each run's repetitions), named
/// `metric`: the ratio of the medians, its interval and the verdict, as for every headline.
/// `--fail-if` ([`gate`]) judges the figures it names with this, not with a rule of its own.
pub fn change(metric: String, unit: Unit, a: &SampleSummary, b: &SampleSummary) -> Change {
    let (ratio, ratio_interval, verdict) = judge(a, b);
    Change {
        metric,
        unit,
        a: a.median,
        b: b.median,
        ratio,
        ratio_interval,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{now_rfc3339, RunMeta, RunStatus};
    use crate::summary::MemRow;

    fn summary(values: &[f64]) -> Summary {
        let s = SampleSummary::from_values(values).unwrap();
        Summary {
            schema_version: 1,
            run: RunMeta {
                controller_version: "0".into(),
                status: RunStatus::Complete,
                ..RunMeta::new("r", "local", crate::Suite::default_suite(), now_rfc3339())
            },
            warnings: Vec::new(),
            pricing: None,
            network: vec![],
            memory_bandwidth: vec![MemRow {
                size: "1x2".parse().unwrap(),
                arch: None,
                kernel: "triad".into(),
                stores: "cached".into(),
                threads: 1,
                best_bytes_per_sec: s.clone(),
                sustained_bytes_per_sec: s,
                cost_per_hour: None,
                gb_per_sec_per_dollar_hour: None,
                quota_throttled: false,
            }],
            memory_latency: vec![],
            architectures: vec![],
            cpu_generations: vec![],
            by_generation: vec![],
            emulated: vec![],
            failures: vec![],
            startup: Vec::new(),
            items_ok: 3,
        }
    }

    #[test]
    fn a_change_is_called_only_when_the_ratio_interval_excludes_one() {
        let seven = |base: f64| -> Vec<f64> { (0..7).map(|i| base + f64::from(i)).collect() };
        let a = summary(&seven(10.0)); // 10..16, median 13, interval 10..16
        let near = summary(&seven(11.0));
        let far = summary(&seven(30.0));
        let c = compare(&a, &near);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].metric, "memory triad cached x1 best at 1x2");
        assert!((c[0].ratio.unwrap() - 14.0 / 13.0).abs() < 1e-12);
        let (lo, hi) = c[0].ratio_interval.unwrap();
        assert!((lo - 11.0 / 16.0).abs() < 1e-12 && (hi - 17.0 / 10.0).abs() < 1e-12);
        assert_eq!(c[0].verdict, Verdict::NoChangeShown);
        let c = compare(&a, &far);
        assert_eq!(c[0].verdict, Verdict::Higher);
        assert_eq!(compare(&far, &a)[0].verdict, Verdict::Lower);
        assert_eq!(c[0].percent(), "+153.8 %");
        assert!(c[0].verdict.words().contains("higher"));
    }

    #[test]
    fn few_repetitions_and_a_zero_baseline_call_nothing() {
        let c = compare(&summary(&[10.0, 11.0, 12.0]), &summary(&[20.0, 21.0, 22.0]));
        assert_eq!(c[0].verdict, Verdict::TooFewRepetitions);
        assert_eq!(c[0].ratio_interval, None);
        let c = compare(&summary(&[0.0, 0.0]), &summary(&[5.0, 6.0]));
        assert_eq!((c[0].verdict, c[0].ratio), (Verdict::ZeroBaseline, None));
        assert_eq!(c[0].percent(), "n/a (A is 0)", "not +0.0 %");
        // An interval of A that reaches zero bounds the ratio below only: still a verdict,
        // not "too few repetitions".
        let a = summary(&[0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let c = compare(&a, &summary(&[5.0; 7]));
        assert_eq!((c[0].verdict, c[0].ratio_interval), (Verdict::Higher, None));
        let c = compare(&a, &summary(&[0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1]));
        assert_eq!(c[0].verdict, Verdict::NoChangeShown);
    }
}
