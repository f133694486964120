//! The shared-bucket part of the fold: each repetition's answer ([`BucketSharing`], read by
//! [`probe_core::bucket_sharing::analyze`]) into one [`SharedBucketRow`] per test, placement
//! and drained direction. The verdict is the one most repetitions gave; the figures behind it
//! are medians over the repetitions that measured them.

use std::collections::BTreeMap;

use probe_core::bucket_sharing::{BucketSharing, SharingVerdict};
use probe_core::regime::Regime;
use probe_core::stats::SampleSummary;

use crate::summary::SharedBucketRow;

/// A verdict as the summary JSON names it (the probe report's spelling).
pub(crate) fn verdict_name(v: SharingVerdict) -> &'static str {
    match v {
        SharingVerdict::Shared => "shared",
        SharingVerdict::Separate => "separate",
        SharingVerdict::OtherUnlimited => "other_unlimited",
        SharingVerdict::Undecided => "undecided",
    }
}

/// A shared-bucket row in the making.
#[derive(Default, Clone)]
pub(super) struct SharingAcc {
    repetitions: u64,
    drained_baseline: Vec<f64>,
    drained_bucket: Vec<f64>,
    other_rate: Vec<f64>,
    other_burst: Vec<f64>,
    other_bucket: Vec<f64>,
    verdicts: Vec<(SharingVerdict, u64)>,
}

impl SharingAcc {
    /// Adds one repetition's answer.
    pub(super) fn add(&mut self, s: &BucketSharing) {
        self.repetitions += 1;
        match self.verdicts.iter_mut().find(|(v, _)| *v == s.verdict) {
            Some((_, n)) => *n += 1,
            None => self.verdicts.push((s.verdict, 1)),
        }
        self.drained_baseline
            .extend(s.drained_baseline_bits_per_sec);
        self.drained_bucket
            .extend(s.drained_bucket_bytes.map(|b| b as f64));
        match &s.other {
            Regime::BurstThenBaseline(o) => {
                self.other_rate.push(o.baseline_bits_per_sec.median);
                self.other_burst.push(o.burst_bits_per_sec);
                self.other_bucket.push(o.burst_bytes_above_baseline as f64);
            }
            Regime::Flat { bits_per_sec, .. } => self.other_rate.push(*bits_per_sec),
            Regime::Undecided { .. } => {}
        }
    }

    /// The row, when any repetition ran a shared-bucket test.
    pub(super) fn row(&self) -> Option<SharedBucketRow> {
        if self.repetitions == 0 {
            return None;
        }
        let most = self.verdicts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let mut leaders = self.verdicts.iter().filter(|(_, n)| *n == most);
        let verdict = match (leaders.next(), leaders.next()) {
            (Some((v, _)), None) => *v,
            _ => SharingVerdict::Undecided,
        };
        Some(SharedBucketRow {
            repetitions: self.repetitions,
            drained_baseline_bits_per_sec: SampleSummary::from_values(&self.drained_baseline),
            drained_bucket_bytes: SampleSummary::from_values(&self.drained_bucket),
            other_bits_per_sec: SampleSummary::from_values(&self.other_rate),
            other_burst_bits_per_sec: SampleSummary::from_values(&self.other_burst),
            other_bucket_bytes: SampleSummary::from_values(&self.other_bucket),
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
    use probe_core::regime::{detect, Sample};
    use probe_core::report::Direction;

    use super::*;

    const S: u64 = 1_000_000_000;

    /// A series of 20 s: `burst` for `burst_s` seconds, then `base`.
    fn regime(burst: f64, burst_s: u64, base: f64) -> Regime {
        let series: Vec<Sample> = (0..20u64)
            .map(|i| Sample {
                start_ns: i * S,
                duration_ns: S,
                bits_per_sec: if i < burst_s { burst } else { base },
            })
            .collect();
        detect(&series, &Default::default())
    }

    /// One repetition: outbound drained (400 then 50 Mbit/s for 8 s), then inbound as given.
    fn sharing(other: Regime) -> BucketSharing {
        probe_core::bucket_sharing::analyze(
            Direction::ClientToServer,
            &regime(400e6, 8, 50e6),
            &other,
        )
    }

    #[test]
    fn the_row_counts_every_verdict_and_gives_the_one_most_repetitions_gave() {
        let mut acc = SharingAcc::default();
        assert!(acc.row().is_none());
        // Two repetitions find inbound at the drained baseline, one finds it bursting.
        acc.add(&sharing(regime(50e6, 0, 50e6)));
        acc.add(&sharing(regime(52e6, 0, 52e6)));
        acc.add(&sharing(regime(400e6, 8, 50e6)));
        let row = acc.row().unwrap();
        assert_eq!(row.repetitions, 3);
        assert_eq!(row.verdict, SharingVerdict::Shared);
        assert_eq!(
            row.verdicts,
            BTreeMap::from([("separate".into(), 1), ("shared".into(), 2)])
        );
        let base = row.drained_baseline_bits_per_sec.as_ref().unwrap();
        assert_eq!((base.n, base.median), (3, 50e6));
        // 8 s at 350 Mbit/s above the baseline: 350 MB, every repetition.
        assert_eq!(row.drained_bucket_bytes.as_ref().unwrap().median, 350e6);
        let other = row.other_bits_per_sec.as_ref().unwrap();
        assert_eq!((other.n, other.median, other.max), (3, 50e6, 52e6));
        // Only the repetition that burst has a burst and a bucket of the other direction.
        let burst = row.other_burst_bits_per_sec.as_ref().unwrap();
        assert_eq!((burst.n, burst.median), (1, 400e6));
        assert_eq!(row.other_bucket_bytes.as_ref().unwrap().median, 350e6);

        // A tie is undecided; an undecided repetition measured no rate of the other direction.
        acc.add(&sharing(regime(400e6, 8, 50e6)));
        assert_eq!(acc.row().unwrap().verdict, SharingVerdict::Undecided);
        acc.add(&sharing(Regime::Undecided {
            ran_ns: 2 * S,
            why: "ran 2 s".into(),
        }));
        let row = acc.row().unwrap();
        assert_eq!(row.verdicts["undecided"], 1);
        assert_eq!(row.other_bits_per_sec.as_ref().unwrap().n, 4);
        assert_eq!(row.verdict, SharingVerdict::Undecided);
    }
}
