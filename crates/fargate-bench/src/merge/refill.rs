//! The refill part of the fold: each repetition's refill test ([`Refill`], read by
//! [`probe_core::refill::analyze`]) into one [`RefillRow`] per test, placement and direction.
//!
//! Every re-burst that found the bucket partly full is one reading of the refill rate (its
//! bytes above the baseline over the quiet time before it), so the row's rate is the median of
//! all of them, over every idle time and repetition, with the intervals a [`SampleSummary`]
//! gives. Re-bursts that found the bucket full again, or never came back to the baseline, bound
//! the rate only: they are counted, never averaged in.

use std::collections::BTreeMap;

use probe_core::refill::{Refill, RefillVerdict};
use probe_core::stats::SampleSummary;

use crate::summary::{RefillIdle, RefillRow};

/// One idle time in the making.
#[derive(Default, Clone)]
struct IdleAcc {
    idle_ns: u64,
    recovered: Vec<f64>,
    share: Vec<f64>,
    full: u64,
    reached_cap: u64,
}

/// A refill row in the making: every repetition's refill test of one test, placement and
/// direction.
#[derive(Default, Clone)]
pub(super) struct RefillAcc {
    repetitions: u64,
    rates: Vec<f64>,
    baselines: Vec<f64>,
    full_refill_ns: Vec<f64>,
    idles: Vec<IdleAcc>,
    saturates: u64,
    stops_short: u64,
    verdicts: Vec<(RefillVerdict, u64)>,
}

/// A verdict as the summary JSON names it (the probe report's spelling).
pub(crate) fn verdict_name(v: RefillVerdict) -> &'static str {
    match v {
        RefillVerdict::AtBaselineRate => "at_baseline_rate",
        RefillVerdict::FasterThanBaseline => "faster_than_baseline",
        RefillVerdict::SlowerThanBaseline => "slower_than_baseline",
        RefillVerdict::DoesNotRefill => "does_not_refill",
        RefillVerdict::Undetermined => "undetermined",
        RefillVerdict::NoBucket => "no_bucket",
    }
}

impl RefillAcc {
    /// Adds one repetition's refill test.
    pub(super) fn add(&mut self, r: &Refill) {
        self.repetitions += 1;
        match self.verdicts.iter_mut().find(|(v, _)| *v == r.verdict) {
            Some((_, n)) => *n += 1,
            None => self.verdicts.push((r.verdict, 1)),
        }
        self.baselines.extend(r.baseline_bits_per_sec);
        self.full_refill_ns
            .extend(r.full_refill_ns.map(|ns| ns as f64));
        match r.saturates_at_bucket {
            Some(true) => self.saturates += 1,
            Some(false) => self.stops_short += 1,
            None => {}
        }
        for x in &r.rebursts {
            if !x.full && !x.reached_cap {
                self.rates.push(x.refill_bits_per_sec);
            }
            let at = match self.idles.iter().position(|i| i.idle_ns == x.idle_ns) {
                Some(at) => at,
                None => {
                    self.idles.push(IdleAcc {
                        idle_ns: x.idle_ns,
                        ..IdleAcc::default()
                    });
                    self.idles.len() - 1
                }
            };
            let idle = &mut self.idles[at];
            idle.recovered.push(x.bytes_above_baseline as f64);
            idle.share.extend(x.share_of_bucket);
            idle.full += u64::from(x.full);
            idle.reached_cap += u64::from(x.reached_cap);
        }
    }

    /// The row, when any repetition ran a refill test.
    pub(super) fn row(&self) -> Option<RefillRow> {
        if self.repetitions == 0 {
            return None;
        }
        let rate = SampleSummary::from_values(&self.rates);
        let baseline = SampleSummary::from_values(&self.baselines).map(|b| b.median);
        let refill_to_baseline = rate
            .as_ref()
            .zip(baseline.filter(|b| *b > 0.0))
            .map(|(r, b)| r.median / b);
        let most = self.verdicts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let mut leaders = self.verdicts.iter().filter(|(_, n)| *n == most);
        let verdict = match (leaders.next(), leaders.next()) {
            (Some((v, _)), None) => *v,
            _ => RefillVerdict::Undetermined,
        };
        let saturates_at_bucket = match self.saturates.cmp(&self.stops_short) {
            std::cmp::Ordering::Greater => Some(true),
            std::cmp::Ordering::Less => Some(false),
            std::cmp::Ordering::Equal => None,
        };
        Some(RefillRow {
            repetitions: self.repetitions,
            refill_bits_per_sec: rate,
            refill_to_baseline,
            full_refill_ns: SampleSummary::from_values(&self.full_refill_ns),
            idles: self
                .idles
                .iter()
                .filter_map(|i| {
                    Some(RefillIdle {
                        idle_ns: i.idle_ns,
                        recovered_bytes: SampleSummary::from_values(&i.recovered)?,
                        share_of_bucket: SampleSummary::from_values(&i.share),
                        full: i.full,
                        reached_cap: i.reached_cap,
                    })
                })
                .collect(),
            saturates_at_bucket,
            verdicts: self
                .verdicts
                .iter()
                .map(|(v, n)| (verdict_name(*v).to_owned(), *n))
                .collect::<BTreeMap<_, _>>(),
            verdict,
        })
    }
}

#[cfg(test)]
mod tests {
    use probe_core::refill::Reburst;
    use probe_core::report::Direction;

    use super::*;

    /// A re-burst after `idle_s` that sent `bytes` above a 50 Mbit/s baseline, out of a 350 MB
    /// bucket.
    fn reburst(idle_s: u64, bytes: u64, full: bool) -> Reburst {
        Reburst {
            idle_ns: idle_s * 1_000_000_000,
            quiet_ns: idle_s * 1_000_000_000,
            measured_ns: 5_000_000_000,
            received_bytes: bytes + 31_250_000,
            bytes_above_baseline: bytes,
            burst_duration_ns: 1_000_000_000,
            refill_bits_per_sec: bytes as f64 * 8.0 / idle_s as f64,
            share_of_bucket: Some(bytes as f64 / 350e6),
            full,
            reached_cap: false,
            interval_ns: 1_000_000_000,
            interval_bytes: vec![],
        }
    }

    fn refill(verdict: RefillVerdict, rebursts: Vec<Reburst>, full_refill_s: u64) -> Refill {
        Refill {
            direction: Direction::ClientToServer,
            verdict,
            summary: String::new(),
            bucket_bytes: Some(350_000_000),
            baseline_bits_per_sec: Some(50e6),
            burst_bits_per_sec: Some(400e6),
            rebursts,
            refill_bits_per_sec: None,
            refill_rates_bits_per_sec: None,
            refill_to_baseline: None,
            full_refill_ns: Some(full_refill_s * 1_000_000_000),
            saturates_at_bucket: None,
        }
    }

    fn no_bucket() -> Refill {
        Refill {
            bucket_bytes: None,
            baseline_bits_per_sec: None,
            full_refill_ns: None,
            ..refill(RefillVerdict::NoBucket, vec![], 0)
        }
    }

    #[test]
    fn every_partly_full_reburst_is_one_reading_of_the_rate_and_full_ones_only_count() {
        let mut acc = RefillAcc::default();
        // 24 MB after 4 s and 120 MB after 20 s: 48 Mbit/s each; then 25 and 125 MB: 50 Mbit/s;
        // a third repetition's drain found no bucket; a fourth found it full after 300 s.
        acc.add(&refill(
            RefillVerdict::AtBaselineRate,
            vec![
                reburst(4, 24_000_000, false),
                reburst(20, 120_000_000, false),
            ],
            58,
        ));
        acc.add(&refill(
            RefillVerdict::AtBaselineRate,
            vec![
                reburst(4, 25_000_000, false),
                reburst(20, 125_000_000, false),
            ],
            56,
        ));
        acc.add(&no_bucket());
        let row = acc.row().unwrap();
        assert_eq!(row.repetitions, 3);
        let rate = row.refill_bits_per_sec.as_ref().unwrap();
        assert_eq!((rate.n, rate.median), (4, 49e6));
        assert_eq!((rate.min, rate.max), (48e6, 50e6));
        assert!(rate.ci95_low.unwrap() < 49e6 && rate.ci95_high.unwrap() > 49e6);
        assert_eq!(row.refill_to_baseline, Some(49e6 / 50e6));
        assert_eq!(row.full_refill_ns.as_ref().unwrap().median, 57e9);
        let idles: Vec<(u64, f64, u64)> = row
            .idles
            .iter()
            .map(|i| {
                (
                    i.idle_ns / 1_000_000_000,
                    i.recovered_bytes.median,
                    i.recovered_bytes.n,
                )
            })
            .collect();
        assert_eq!(idles, [(4, 24.5e6, 2), (20, 122.5e6, 2)]);
        let share = row.idles[1].share_of_bucket.as_ref().unwrap().median;
        assert!((share - 0.35).abs() < 1e-12, "{share}");
        assert_eq!(row.verdict, RefillVerdict::AtBaselineRate);
        assert_eq!(
            row.verdicts,
            BTreeMap::from([("at_baseline_rate".into(), 2), ("no_bucket".into(), 1)])
        );

        // A full re-burst bounds the rate only: counted, not read.
        let mut full = refill(
            RefillVerdict::Undetermined,
            vec![reburst(300, 340_000_000, true)],
            0,
        );
        full.saturates_at_bucket = Some(true);
        full.full_refill_ns = None;
        acc.add(&full);
        let row = acc.row().unwrap();
        assert_eq!(row.refill_bits_per_sec.as_ref().unwrap().n, 4);
        assert_eq!(row.idles[2].full, 1);
        assert_eq!(row.saturates_at_bucket, Some(true));
    }

    #[test]
    fn a_tie_between_verdicts_is_undetermined_and_no_test_is_no_row() {
        assert!(RefillAcc::default().row().is_none());
        let mut acc = RefillAcc::default();
        acc.add(&refill(RefillVerdict::AtBaselineRate, vec![], 60));
        acc.add(&refill(RefillVerdict::SlowerThanBaseline, vec![], 90));
        let row = acc.row().unwrap();
        assert_eq!(row.verdict, RefillVerdict::Undetermined);
        assert!(row.refill_bits_per_sec.is_none() && row.refill_to_baseline.is_none());
        acc.add(&refill(RefillVerdict::SlowerThanBaseline, vec![], 90));
        assert_eq!(
            acc.row().unwrap().verdict,
            RefillVerdict::SlowerThanBaseline
        );
    }
}
