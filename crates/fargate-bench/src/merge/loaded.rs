//! The latency-under-load part of the fold: each repetition's probes beside its stream
//! ([`LoadedLatency`], read by [`probe_core::loaded_latency::analyze`]) into one [`LoadedRow`]
//! per test, placement and direction. Each regime's round trips are pooled (histograms merge
//! losslessly), its probes and losses summed, and the retransmit rate is the sum of
//! retransmits over the sum of the spans they were counted in.

use std::collections::BTreeMap;

use probe_core::loaded_latency::{LoadVerdict, LoadedLatency, Stage};
use probe_core::LatencyHistogram;

use crate::summary::loaded::verdict_name;
use crate::summary::{LoadedRow, LoadedStageRow};

#[derive(Default, Clone)]
struct StageAcc {
    probes: u64,
    lost: u64,
    rtt: LatencyHistogram,
    retransmits: u64,
    retransmit_span_ns: u64,
    /// Retransmits and segments of the repetitions that knew their segment size.
    share_retransmits: u64,
    segments: u64,
}

/// A latency-under-load row in the making.
#[derive(Default, Clone)]
pub(super) struct LoadedAcc {
    repetitions: u64,
    probes_per_sec: f64,
    stages: Vec<(Stage, StageAcc)>,
    verdicts: Vec<(LoadVerdict, u64, String)>,
}

impl LoadedAcc {
    /// Adds one repetition's probes.
    pub(super) fn add(&mut self, l: &LoadedLatency) {
        self.repetitions += 1;
        self.probes_per_sec = l.probes_per_sec;
        match self.verdicts.iter_mut().find(|(v, _, _)| *v == l.verdict) {
            Some((_, n, _)) => *n += 1,
            None => self.verdicts.push((l.verdict, 1, l.summary.clone())),
        }
        for s in &l.stages {
            let at = match self.stages.iter().position(|(st, _)| *st == s.stage) {
                Some(at) => at,
                None => {
                    self.stages.push((s.stage, StageAcc::default()));
                    self.stages.len() - 1
                }
            };
            let acc = &mut self.stages[at].1;
            acc.probes += s.probes;
            acc.lost += s.lost;
            let _ = acc.rtt.merge(&s.rtt);
            if let (Some(n), Some(span)) = (s.retransmits, s.retransmit_span_ns) {
                acc.retransmits += n;
                acc.retransmit_span_ns += span;
                if let Some(segments) = s.segments {
                    acc.share_retransmits += n;
                    acc.segments += segments;
                }
            }
        }
    }

    /// The row, when any repetition probed.
    pub(super) fn row(&self) -> Option<LoadedRow> {
        if self.repetitions == 0 {
            return None;
        }
        let most = self.verdicts.iter().map(|(_, n, _)| *n).max().unwrap_or(0);
        let mut leaders = self.verdicts.iter().filter(|(_, n, _)| *n == most);
        let (verdict, summary) = match (leaders.next(), leaders.next()) {
            (Some((v, _, s)), None) => (*v, s.clone()),
            _ => (
                LoadVerdict::NotMeasured,
                "undecided: the repetitions split between verdicts".to_owned(),
            ),
        };
        let order = |s: &Stage| match s {
            Stage::Burst => 0,
            Stage::Baseline => 1,
            Stage::Whole => 2,
        };
        let mut stages: Vec<LoadedStageRow> = self
            .stages
            .iter()
            .map(|(stage, a)| LoadedStageRow {
                stage: *stage,
                probes: a.probes,
                lost: a.lost,
                loss_share: if a.probes == 0 {
                    0.0
                } else {
                    a.lost as f64 / a.probes as f64
                },
                rtt: a.rtt.summary(),
                retransmits_per_sec: (a.retransmit_span_ns > 0)
                    .then(|| a.retransmits as f64 * 1e9 / a.retransmit_span_ns as f64),
                retransmit_share: (a.segments > 0)
                    .then(|| a.share_retransmits as f64 / a.segments as f64),
            })
            .collect();
        stages.sort_by_key(|s| order(&s.stage));
        Some(LoadedRow {
            repetitions: self.repetitions,
            probes_per_sec: self.probes_per_sec,
            stages,
            verdicts: self
                .verdicts
                .iter()
                .map(|(v, n, _)| (verdict_name(*v).to_owned(), *n))
                .collect::<BTreeMap<_, _>>(),
            verdict,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_core::loaded_latency::{analyze, ProbeSeries};
    use probe_core::regime::{BurstBaseline, Regime};
    use probe_core::stats::SampleSummary;

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    /// 50 probes/s over 10 s, the change at 4 s, with `baseline_rtt` after it and every
    /// `lose_every`-th baseline probe lost.
    fn repetition(baseline_rtt: u64, lose_every: usize) -> LoadedLatency {
        let rtt: Vec<Option<u64>> = (0..500)
            .map(|i| {
                if i < 200 {
                    Some(MS)
                } else if i % lose_every == 0 {
                    None
                } else {
                    Some(baseline_rtt)
                }
            })
            .collect();
        let retransmits = [0u64, 0, 0, 0, 4, 2, 2, 2, 2, 2];
        let regime = Regime::BurstThenBaseline(BurstBaseline {
            burst_bits_per_sec: 400e6,
            burst_duration_ns: 4 * S,
            burst_bytes_above_baseline: 175_000_000,
            baseline_bits_per_sec: SampleSummary::from_values(&[50e6; 3]).unwrap(),
            change_ns: 4 * S,
            baseline_held_ns: 6 * S,
            drop_ratio: Some(8.0),
        });
        analyze(
            &ProbeSeries {
                per_sec: 50.0,
                rtt_ns: &rtt,
                interval_ns: S,
                interval_retransmits: Some(&retransmits),
                segment_bytes: Some(1448),
            },
            &regime,
            10 * S,
        )
    }

    #[test]
    fn repetitions_pool_their_probes_per_regime_and_the_most_common_verdict_leads() {
        let mut acc = LoadedAcc::default();
        acc.add(&repetition(200 * MS, 1000));
        acc.add(&repetition(180 * MS, 1000));
        acc.add(&repetition(MS, 5));
        let row = acc.row().unwrap();
        assert_eq!(row.repetitions, 3);
        assert_eq!(row.verdict, LoadVerdict::Queues);
        assert!(
            row.summary.starts_with("queues: p99 rises"),
            "{}",
            row.summary
        );
        assert_eq!(row.verdicts["queues"], 2);
        assert_eq!(row.verdicts["drops"], 1);
        let burst = row.stage(Stage::Burst).unwrap();
        let baseline = row.stage(Stage::Baseline).unwrap();
        assert_eq!(row.stages[0].stage, Stage::Burst, "burst first");
        // 175 burst and 275 baseline probes each; the third lost every fifth at the baseline.
        assert_eq!((burst.probes, baseline.probes), (525, 825));
        assert_eq!(baseline.lost, 55);
        let rtt = baseline.rtt.as_ref().unwrap();
        assert!(rtt.p50_ns.abs_diff(180 * MS) < 2 * MS, "{rtt:?}");
        // 2 retransmits/s in each whole baseline interval (5-9 s) of each repetition.
        assert_eq!(baseline.retransmits_per_sec, Some(2.0));
        assert_eq!(burst.retransmits_per_sec, Some(0.0));
        // 2 of the 4,316 segments a second 50 Mbit/s sends in 1448 bytes: 0.05 %.
        let share = baseline.retransmit_share.unwrap();
        assert!((share - 2.0 / 4316.0).abs() < 1e-5, "{share}");
    }

    #[test]
    fn a_tie_is_not_a_verdict_and_nothing_probed_is_no_row() {
        assert!(LoadedAcc::default().row().is_none());
        let mut acc = LoadedAcc::default();
        acc.add(&repetition(200 * MS, 1000));
        acc.add(&repetition(MS, 5));
        let row = acc.row().unwrap();
        assert_eq!(row.verdict, LoadVerdict::NotMeasured);
        assert!(row.summary.contains("split"), "{}", row.summary);
    }
}
