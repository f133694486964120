//! The shared-bucket table (issue 24, items 2 and 6): per test, size and drained direction,
//! what the other direction did once this one's bucket was empty, and so whether inbound and
//! outbound share one token bucket.

use probe_core::bucket_sharing::SharingVerdict;
use probe_core::units::{format_bits_per_sec, format_bytes};

use super::tables::{direction, spread, Cell, Tabular};
use crate::summary::Summary;

/// A verdict in words, and its short form for the narrow table.
fn words(v: SharingVerdict) -> (&'static str, &'static str) {
    match v {
        SharingVerdict::Shared => ("one shared bucket", "shared"),
        SharingVerdict::Separate => ("two buckets, one each way", "two buckets"),
        SharingVerdict::OtherUnlimited => (
            "not shared: this bucket does not hold the other direction back",
            "other not held",
        ),
        SharingVerdict::Undecided => ("undecided", "undecided"),
    }
}

/// Shared-bucket tests: the drained direction's baseline and bucket, the other direction's
/// rate and burst right after, and the verdict with how many repetitions gave each.
pub(crate) fn shared_buckets(s: &Summary) -> Tabular {
    let rows = s
        .network
        .iter()
        .filter_map(|r| {
            let b = r.bucket_sharing.as_ref()?;
            let rate = |x: Option<&probe_core::stats::SampleSummary>| {
                x.map_or_else(Cell::empty, |x| spread(x, format_bits_per_sec))
            };
            let bytes = |x: Option<&probe_core::stats::SampleSummary>| {
                x.map_or_else(Cell::empty, |x| spread(x, |v| format_bytes(v as u64)))
            };
            let (verdict, brief) = words(b.verdict);
            let counts = super::tables::verdict_counts(&b.verdicts);
            Some(vec![
                Cell::text(&r.test),
                Cell::text(r.size.to_string()),
                direction(r.direction),
                Cell::num(b.repetitions.to_string(), b.repetitions as f64),
                rate(b.drained_baseline_bits_per_sec.as_ref()),
                bytes(b.drained_bucket_bytes.as_ref()),
                rate(b.other_bits_per_sec.as_ref()),
                rate(b.other_burst_bits_per_sec.as_ref()),
                bytes(b.other_bucket_bytes.as_ref()),
                Cell {
                    brief: Some(brief.to_owned()),
                    ..Cell::text(if b.verdicts.len() > 1 {
                        format!("{verdict} ({counts})")
                    } else {
                        verdict.to_owned()
                    })
                },
            ])
        })
        .collect();
    Tabular {
        title: "One bucket or two (this direction drained, then the other measured at once)",
        headers: vec![
            "test",
            "size",
            "drained",
            "reps",
            "drained baseline",
            "drained bucket",
            "other settled at",
            "other's burst",
            "other's bucket",
            "verdict",
        ],
        rows,
        // The narrow table says where the other direction settled; its burst is in the wide one.
        wide_only: &["other's burst", "other's bucket"],
    }
}
