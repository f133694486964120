//! The refill part of the model: a refill test over repetitions ([`RefillRow`]), folded by
//! [`crate::merge`] and read by the refill table and `simulate`.

use std::collections::BTreeMap;

use probe_core::stats::SampleSummary;
use serde::{Deserialize, Serialize};

/// A refill test over repetitions (issue 24): how fast the bucket its drain emptied came back
/// ([`probe_core::refill`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefillRow {
    /// Repetitions that ran a refill test (those whose drain found no bucket included: their
    /// verdict is `no_bucket`).
    pub repetitions: u64,
    /// The refill rate each re-burst shows that found the bucket partly full (its bytes above
    /// the baseline over the quiet time before it), over every repetition: the median and its
    /// intervals. Absent when no re-burst measured one (the bucket was full again every time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_bits_per_sec: Option<SampleSummary>,
    /// The median refill rate over the median baseline of the same drains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_to_baseline: Option<f64>,
    /// How long the drained bucket takes to refill at each repetition's rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_refill_ns: Option<SampleSummary>,
    /// What each idle time gave back, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idles: Vec<RefillIdle>,
    /// Whether recovery stops at the bucket, as most repetitions that could tell said; absent
    /// when none could (every idle time was shorter than a full refill) or they split evenly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturates_at_bucket: Option<bool>,
    /// How many repetitions gave each verdict (`at_baseline_rate`, `faster_than_baseline`,
    /// `slower_than_baseline`, `does_not_refill`, `undetermined`, `no_bucket`).
    pub verdicts: BTreeMap<String, u64>,
    /// The verdict most repetitions gave; `undetermined` when two verdicts tie.
    pub verdict: probe_core::refill::RefillVerdict,
}

/// One idle time of a refill test over repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefillIdle {
    /// The idle time asked for.
    pub idle_ns: u64,
    /// Bytes each re-burst after it sent above the baseline: what the bucket had recovered.
    pub recovered_bytes: SampleSummary,
    /// The same over the drained bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of_bucket: Option<SampleSummary>,
    /// Re-bursts that found the bucket full again: their rate is only a lower bound.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub full: u64,
    /// Re-bursts whose rate never came back to the baseline within the cap: their bytes are a
    /// lower bound.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reached_cap: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
