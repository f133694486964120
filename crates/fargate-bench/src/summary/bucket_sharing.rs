//! The shared-bucket part of the model: one bucket or two over repetitions
//! ([`SharedBucketRow`]), folded by [`crate::merge`] and read by its table and the page.

use std::collections::BTreeMap;

use probe_core::bucket_sharing::SharingVerdict;
use probe_core::stats::SampleSummary;
use serde::{Deserialize, Serialize};

/// A shared-bucket test over repetitions (issue 24, item 2): with the row's direction drained
/// until its baseline held, what the other direction did right after
/// ([`probe_core::bucket_sharing`]), and so whether both draw on one token bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedBucketRow {
    /// Repetitions that ran the test (those that could not tell included: their verdict is
    /// `undecided`).
    pub repetitions: u64,
    /// The drained direction's baseline, over the repetitions whose drain found a bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained_baseline_bits_per_sec: Option<SampleSummary>,
    /// The drained direction's bucket (bytes above its baseline), over the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained_bucket_bytes: Option<SampleSummary>,
    /// The rate the other direction settled at right after (its baseline, or its one rate),
    /// over the repetitions whose series could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_bits_per_sec: Option<SampleSummary>,
    /// The other direction's burst rate, over the repetitions where it burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_burst_bits_per_sec: Option<SampleSummary>,
    /// The bytes the other direction sent above its baseline, over the same: its own bucket
    /// when the verdict is `separate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_bucket_bytes: Option<SampleSummary>,
    /// How many repetitions gave each verdict (`shared`, `separate`, `other_unlimited`,
    /// `undecided`).
    pub verdicts: BTreeMap<String, u64>,
    /// The verdict most repetitions gave; `undecided` when two verdicts tie.
    pub verdict: SharingVerdict,
}
