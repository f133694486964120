//! The latency-under-load table (issue 24, item 3): per test, size and direction, the round
//! trips of the probes beside the stream at the burst and at the baseline, the probes lost and
//! the stream's retransmits in each, and whether the limit queues or drops.

use probe_core::loaded_latency::{LoadVerdict, Stage};
use probe_core::units::format_ns;

use super::tables::{direction, Cell, Tabular};
use crate::summary::{LoadedStageRow, Summary};

/// A verdict as a short phrase.
fn verdict_words(v: LoadVerdict) -> &'static str {
    match v {
        LoadVerdict::Queues => "queues",
        LoadVerdict::Drops => "drops",
        LoadVerdict::QueuesAndDrops => "queues and drops",
        LoadVerdict::Neither => "neither",
        LoadVerdict::NotMeasured => "not measured",
    }
}

fn rtt_cell(
    s: Option<&LoadedStageRow>,
    pick: impl Fn(&probe_core::HistogramSummary) -> u64,
) -> Cell {
    match s.and_then(|s| s.rtt.as_ref()) {
        Some(h) => {
            let ns = pick(h);
            Cell::num(format_ns(ns as f64), ns as f64)
        }
        None => Cell::empty(),
    }
}

fn loss_cell(s: Option<&LoadedStageRow>) -> Cell {
    match s {
        Some(s) if s.probes > 0 => {
            Cell::num(format!("{:.1} %", s.loss_share * 100.0), s.loss_share)
        }
        _ => Cell::empty(),
    }
}

/// The share of segments retransmitted where the segment size was known, else the rate.
fn retransmit_cell(s: Option<&LoadedStageRow>) -> Cell {
    match (
        s.and_then(|s| s.retransmit_share),
        s.and_then(|s| s.retransmits_per_sec),
    ) {
        (Some(share), _) => Cell::num(format!("{:.2} %", share * 100.0), share),
        (None, Some(r)) => Cell::num(format!("{r:.1}/s"), r),
        _ => Cell::empty(),
    }
}

/// Every row that probed under load.
pub(crate) fn latency_under_load(s: &Summary) -> Tabular {
    let rows = s
        .network
        .iter()
        .filter_map(|r| {
            let l = r.latency_under_load.as_ref()?;
            // Without a change the whole test stands in for the baseline, and the verdict
            // says it was not measured.
            let burst = l.stage(Stage::Burst);
            let baseline = l.stage(Stage::Baseline).or(l.stage(Stage::Whole));
            let counts = super::tables::verdict_counts(&l.verdicts);
            Some(vec![
                Cell::text(&r.test),
                Cell::text(r.size.to_string()),
                direction(r.direction),
                Cell::count(l.repetitions),
                rtt_cell(burst, |h| h.p50_ns),
                rtt_cell(burst, |h| h.p99_ns),
                rtt_cell(baseline, |h| h.p50_ns),
                rtt_cell(baseline, |h| h.p99_ns),
                loss_cell(baseline),
                retransmit_cell(burst),
                retransmit_cell(baseline),
                // The sentence with its figures is on the page and in the JSON (`summary`);
                // the columns before this one give the same figures.
                Cell::text(if l.verdicts.len() > 1 {
                    format!("{} ({counts})", verdict_words(l.verdict))
                } else {
                    verdict_words(l.verdict).to_owned()
                }),
            ])
        })
        .collect();
    Tabular {
        title: "Latency under load (probes beside the stream; lost: of the probes; \
                retransmits: of the stream's segments)",
        headers: vec![
            "test",
            "size",
            "direction",
            "reps",
            "burst p50",
            "burst p99",
            "baseline p50",
            "baseline p99",
            "baseline lost",
            "burst retransmits",
            "baseline retransmits",
            "verdict",
        ],
        rows,
        wide_only: &["burst p50", "burst retransmits"],
    }
}

/// The verdict of each row in a sentence with its figures, for the page: `test at size,
/// direction: queues: p99 rises from ...`.
pub(crate) fn sentences(s: &Summary) -> Vec<String> {
    s.network
        .iter()
        .filter_map(|r| {
            let l = r.latency_under_load.as_ref()?;
            Some(format!(
                "{} at {}{}: {}",
                r.test,
                r.size,
                r.direction
                    .map(|d| format!(", {}", direction(Some(d)).human))
                    .unwrap_or_default(),
                l.summary
            ))
        })
        .collect()
}
