//! One bucket or two: do a task's inbound and outbound traffic draw on one token bucket?
//!
//! The test drains one direction until its baseline holds, then at once measures the other
//! direction until *its* baseline holds. If one bucket serves both, the other direction finds
//! it empty and starts at the drained direction's baseline; if each direction has its own, the
//! other direction bursts as a fresh task would; a direction with no bucket of this kind runs
//! flat, well above the drained baseline. A pure function of the two regimes, so each answer is
//! tested on made-up series.

use serde::{Deserialize, Serialize};

use crate::regime::Regime;
use crate::report::Direction;
use crate::units::{format_bits_per_sec, format_bytes};

/// The other direction's burst must carry at least this share of the drained bucket to count
/// as a bucket of its own (less is what refilled between the two measurements, or noise).
const OWN_BUCKET_SHARE: f64 = 0.25;

/// The other direction counts as "at the drained baseline" up to this many times it.
const AT_BASELINE_FACTOR: f64 = 1.3;

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingVerdict {
    /// The other direction started at the drained direction's baseline: one bucket for both.
    Shared,
    /// The other direction burst from a bucket of its own.
    Separate,
    /// The other direction is not held by this bucket at all (flat, well above its baseline).
    OtherUnlimited,
    /// The series cannot tell (no burst then baseline in the drained direction, or an
    /// undecided other direction).
    Undecided,
}

/// What the two measurements showed, with the verdict in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketSharing {
    /// The direction drained first.
    pub drained: Direction,
    /// Its baseline, the rate an empty shared bucket allows the other direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained_baseline_bits_per_sec: Option<f64>,
    /// Its bucket (bytes above the baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained_bucket_bytes: Option<u64>,
    /// The other direction's regime, measured right after.
    pub other: Regime,
    /// The answer.
    pub verdict: SharingVerdict,
    /// The answer in a sentence, with the figures behind it.
    pub summary: String,
}

/// Decides from the drained direction's regime and the other direction's, measured right after.
pub fn analyze(drained: Direction, drained_regime: &Regime, other: &Regime) -> BucketSharing {
    let Some(d) = drained_regime.burst_baseline() else {
        return BucketSharing {
            drained,
            drained_baseline_bits_per_sec: None,
            drained_bucket_bytes: None,
            other: other.clone(),
            verdict: SharingVerdict::Undecided,
            summary: format!(
                "undecided: the {} direction showed no burst then baseline ({}), so there was \
                 no bucket to drain; run longer (raise --time)",
                name(drained),
                drained_regime.describe()
            ),
        };
    };
    let base = d.baseline_bits_per_sec.median;
    let bucket = d.burst_bytes_above_baseline;
    // The rate the other direction settled at: its baseline, or its one rate.
    let settled = match other {
        Regime::BurstThenBaseline(o) => Some(o.baseline_bits_per_sec.median),
        Regime::Flat { bits_per_sec, .. } => Some(*bits_per_sec),
        Regime::Undecided { .. } => None,
    };
    let (verdict, summary) = match (other, settled) {
        (_, None) => (
            SharingVerdict::Undecided,
            format!(
                "undecided: after the {} bucket was drained the other direction showed {}",
                name(drained),
                other.describe()
            ),
        ),
        // Settled above even this direction's burst (an unshaped direction whose rate moved
        // with the host's load reads as a "burst" too): this bucket does not hold it back.
        (_, Some(after)) if after > d.burst_bits_per_sec => (
            SharingVerdict::OtherUnlimited,
            unlimited_summary(drained, after, base),
        ),
        (Regime::BurstThenBaseline(o), _)
            if o.burst_bytes_above_baseline as f64 >= OWN_BUCKET_SHARE * bucket as f64 =>
        {
            (
                SharingVerdict::Separate,
                format!(
                    "two buckets: with the {} bucket empty, the other direction still burst at \
                     {} ({} above its baseline of {}, against {} drained): each direction has \
                     its own",
                    name(drained),
                    format_bits_per_sec(o.burst_bits_per_sec),
                    format_bytes(o.burst_bytes_above_baseline),
                    format_bits_per_sec(o.baseline_bits_per_sec.median),
                    format_bytes(bucket)
                ),
            )
        }
        // At the drained baseline (after at most a small burst, what refilled between the two
        // measurements): the same bucket.
        (_, Some(after)) if after <= AT_BASELINE_FACTOR * base => {
            (SharingVerdict::Shared, shared_summary(drained, after, base))
        }
        (_, Some(after)) => (
            SharingVerdict::OtherUnlimited,
            unlimited_summary(drained, after, base),
        ),
    };
    BucketSharing {
        drained,
        drained_baseline_bits_per_sec: Some(base),
        drained_bucket_bytes: Some(bucket),
        other: other.clone(),
        verdict,
        summary,
    }
}

fn unlimited_summary(drained: Direction, after: f64, base: f64) -> String {
    format!(
        "not shared: the other direction ran at {}, {:.1}x the {} baseline of {}, with no \
         burst of a bucket like it: this bucket does not hold it back",
        format_bits_per_sec(after),
        after / base,
        name(drained),
        format_bits_per_sec(base)
    )
}

fn shared_summary(drained: Direction, other_bits_per_sec: f64, base: f64) -> String {
    format!(
        "one shared bucket: with the {} bucket empty, the other direction started at {}, the \
         drained baseline of {}: inbound and outbound draw on the same bucket",
        name(drained),
        format_bits_per_sec(other_bits_per_sec),
        format_bits_per_sec(base)
    )
}

fn name(d: Direction) -> &'static str {
    match d {
        Direction::ClientToServer => "outbound (client to server)",
        Direction::ServerToClient => "inbound (server to client)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::BurstBaseline;
    use crate::stats::SampleSummary;

    fn bucket(burst: f64, base: f64, bytes: u64) -> Regime {
        Regime::BurstThenBaseline(BurstBaseline {
            burst_bits_per_sec: burst,
            burst_duration_ns: 8_000_000_000,
            burst_bytes_above_baseline: bytes,
            baseline_bits_per_sec: SampleSummary::from_values(&[base; 5]).unwrap(),
            change_ns: 8_000_000_000,
            baseline_held_ns: 5_000_000_000,
            drop_ratio: Some(burst / base),
        })
    }

    fn flat(bits: f64) -> Regime {
        Regime::Flat {
            bits_per_sec: bits,
            ran_ns: 10_000_000_000,
            may_be_burst_only: true,
        }
    }

    const MB: u64 = 1_000_000;

    #[test]
    fn a_fresh_burst_in_the_other_direction_is_a_bucket_of_its_own() {
        let drained = bucket(400e6, 50e6, 350 * MB);
        let s = analyze(
            Direction::ClientToServer,
            &drained,
            &bucket(390e6, 48e6, 340 * MB),
        );
        assert_eq!(s.verdict, SharingVerdict::Separate);
        assert!(
            s.summary.starts_with("two buckets: with the outbound"),
            "{}",
            s.summary
        );
        assert_eq!(s.drained_bucket_bytes, Some(350 * MB));
    }

    #[test]
    fn starting_at_the_drained_baseline_is_one_shared_bucket() {
        let drained = bucket(400e6, 50e6, 350 * MB);
        let s = analyze(Direction::ServerToClient, &drained, &flat(49e6));
        assert_eq!(s.verdict, SharingVerdict::Shared);
        assert!(s.summary.contains("started at 49"), "{}", s.summary);
        // What refilled between the two measurements makes a small burst: still shared.
        let s = analyze(
            Direction::ClientToServer,
            &drained,
            &bucket(300e6, 48e6, 2 * MB),
        );
        assert_eq!(s.verdict, SharingVerdict::Shared, "{}", s.summary);
    }

    #[test]
    fn a_flat_rate_far_above_the_baseline_is_not_held_by_the_bucket() {
        let drained = bucket(400e6, 50e6, 350 * MB);
        let s = analyze(Direction::ClientToServer, &drained, &flat(2e9));
        assert_eq!(s.verdict, SharingVerdict::OtherUnlimited);
        assert!(s.summary.contains("40.0x the outbound"), "{}", s.summary);
    }

    #[test]
    fn without_a_drained_bucket_or_a_clear_other_side_it_does_not_guess() {
        let s = analyze(Direction::ClientToServer, &flat(50e6), &flat(50e6));
        assert_eq!(s.verdict, SharingVerdict::Undecided);
        assert!(s.summary.contains("no bucket to drain"), "{}", s.summary);
        let undecided = Regime::Undecided {
            ran_ns: 2_000_000_000,
            why: "too few samples".into(),
        };
        let s = analyze(
            Direction::ClientToServer,
            &bucket(400e6, 50e6, 350 * MB),
            &undecided,
        );
        assert_eq!(s.verdict, SharingVerdict::Undecided);
        // A small burst, then a rate well above the drained baseline: not this bucket.
        let s = analyze(
            Direction::ClientToServer,
            &bucket(300e6, 200e6, 10 * MB),
            &bucket(400e6, 50e6, 350 * MB),
        );
        assert_eq!(s.verdict, SharingVerdict::Separate, "{}", s.summary);
        let s = analyze(
            Direction::ClientToServer,
            &bucket(400e6, 50e6, 350 * MB),
            &bucket(3e9, 2e9, 10 * MB),
        );
        assert_eq!(s.verdict, SharingVerdict::OtherUnlimited, "{}", s.summary);
        // An unshaped direction whose rate sagged with the host's load reads as a burst of
        // gigabytes then a "baseline" of gigabits: still not this bucket (seen on tbf).
        let s = analyze(
            Direction::ClientToServer,
            &bucket(378e6, 47.8e6, 150 * MB),
            &bucket(9.38e9, 5.53e9, 1500 * MB),
        );
        assert_eq!(s.verdict, SharingVerdict::OtherUnlimited, "{}", s.summary);
    }
}
