//! The latency-under-load part of the model (issue 24, item 3): a stream's round-trip probes
//! over repetitions, per regime ([`LoadedRow`]), folded by [`crate::merge`] and read by the
//! latency-under-load table and the run page.

use std::collections::BTreeMap;

use probe_core::loaded_latency::{LoadVerdict, Stage};
use probe_core::HistogramSummary;
use serde::{Deserialize, Serialize};

/// Latency under load over repetitions: per regime, every repetition's probes pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedRow {
    /// Repetitions that probed.
    pub repetitions: u64,
    /// Probes per second asked for.
    pub probes_per_sec: f64,
    /// Burst, baseline (and the whole test for repetitions that found no change), in that
    /// order.
    pub stages: Vec<LoadedStageRow>,
    /// How many repetitions gave each verdict (`queues`, `drops`, `queues_and_drops`,
    /// `neither`, `not_measured`).
    pub verdicts: BTreeMap<String, u64>,
    /// The verdict most repetitions gave; `not_measured` when two verdicts tie.
    pub verdict: LoadVerdict,
    /// The first repetition's sentence with its figures, for the verdict most gave.
    pub summary: String,
}

impl LoadedRow {
    /// The pooled figures of one regime.
    pub fn stage(&self, stage: Stage) -> Option<&LoadedStageRow> {
        self.stages.iter().find(|s| s.stage == stage)
    }
}

/// One regime's probes over repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedStageRow {
    /// Which.
    pub stage: Stage,
    /// Probes sent in it, all repetitions.
    pub probes: u64,
    /// Of those, never answered.
    pub lost: u64,
    /// `lost / probes`.
    pub loss_share: f64,
    /// Round trips of every answered probe (merged histograms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<HistogramSummary>,
    /// The stream's retransmitted segments per second in it, over the repetitions that read
    /// them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmits_per_sec: Option<f64>,
    /// Of the segments the stream sent in it, the share retransmitted (over the repetitions
    /// that read their segment size): the drop signal a byte-limited queue gives, which turns
    /// away full segments and lets small probes through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmit_share: Option<f64>,
}

/// A verdict as the summary JSON names it (the probe report's spelling).
pub(crate) fn verdict_name(v: LoadVerdict) -> &'static str {
    match v {
        LoadVerdict::Queues => "queues",
        LoadVerdict::Drops => "drops",
        LoadVerdict::QueuesAndDrops => "queues_and_drops",
        LoadVerdict::Neither => "neither",
        LoadVerdict::NotMeasured => "not_measured",
    }
}
