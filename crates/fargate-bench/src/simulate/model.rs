//! The token-bucket model `simulate` replays a profile against: a pure function of the
//! profile and the bucket, stepped in fixed time steps, so every figure can be worked out by
//! hand.
//!
//! # The model
//! A task may send at the *burst* rate while it holds credit, and at the *baseline* rate
//! without any. Credit is counted in bytes sent above the baseline: the measured *bucket* is
//! the most it holds, and a task starts with a full bucket (a new Fargate task bursts at once).
//! In a step of `dt` seconds:
//!
//! - the sender wants the backlog plus what the profile offers in the step;
//! - it may send at most `min(burst·dt, baseline·dt + credit)`;
//! - sending above `baseline·dt` spends that much credit; sending below it earns credit at
//!   `refill / baseline` per byte not sent, up to the bucket (a task idle for `t` seconds earns
//!   `refill·t` bytes of credit). With `refill = baseline` this is exactly Linux's `tbf` with
//!   `rate` = baseline, `peakrate` = burst and `burst` = bucket;
//! - what it could not send waits in the backlog, first in first out: nothing is dropped.
//!
//! A step in which anything is left waiting counts as throttled. A step in which even a full
//! bucket's burst rate could not keep up counts also as *over the burst rate*: no size with this
//! burst serves such a profile without a queue.

use super::profile::Profile;

/// Bytes below which a backlog counts as empty (float dust from the steps).
const EMPTY: f64 = 1.0;

/// A size's measured token bucket, in bytes and bytes per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Rate while credit lasts.
    pub burst_bytes_per_sec: f64,
    /// Bytes that can be sent above the baseline from a full bucket.
    pub bucket_bytes: f64,
    /// Rate without credit.
    pub baseline_bytes_per_sec: f64,
    /// Credit earned per second of idleness.
    pub refill_bytes_per_sec: f64,
}

/// One sample of the replay, for charts (offered against delivered, and the bucket's level).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Seconds from the start of the profile.
    pub t_secs: f64,
    /// Offered over the sample's span, bits per second.
    pub offered_bits_per_sec: f64,
    /// Delivered over the sample's span, bits per second.
    pub delivered_bits_per_sec: f64,
    /// Credit left at the end of the span, bytes.
    pub bucket_level_bytes: f64,
    /// Bytes waiting at the end of the span.
    pub backlog_bytes: f64,
}

/// What the replay found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// Seconds in which some offered bytes had to wait.
    pub throttled_secs: f64,
    /// Of those, seconds in which even the burst rate could not keep up.
    pub over_burst_secs: f64,
    /// Offered bytes that were not sent in the step they were offered in.
    pub bytes_delayed: f64,
    /// The largest backlog, bytes.
    pub max_backlog_bytes: f64,
    /// When the largest backlog was reached, seconds from the start.
    pub max_backlog_at_secs: f64,
    /// The longest unbroken time with a backlog, seconds.
    pub longest_backlog_secs: f64,
    /// When the last offered byte was delivered, seconds from the start (the profile's own
    /// length when nothing was left waiting).
    pub delivered_by_secs: f64,
    /// The profile's length, seconds.
    pub profile_secs: f64,
    /// Bytes the profile offers.
    pub offered_bytes: f64,
    /// Samples for charts, at most about [`MAX_SAMPLES`].
    pub samples: Vec<Sample>,
}

/// How many chart samples a replay keeps at most.
pub const MAX_SAMPLES: usize = 600;

/// Replays `profile` against `bucket` in steps of `step_secs`.
///
/// The replay goes on past the profile's end, offering nothing, until the backlog is empty;
/// the baseline is positive (checked when the bucket was read), so that always ends.
pub fn replay(profile: &Profile, bucket: &Bucket, step_secs: f64) -> Outcome {
    let dt = step_secs;
    let end = profile.duration_secs();
    let base = bucket.baseline_bytes_per_sec * dt;
    let peak = bucket
        .burst_bytes_per_sec
        .max(bucket.baseline_bytes_per_sec)
        * dt;
    let earn = bucket.refill_bytes_per_sec / bucket.baseline_bytes_per_sec;
    let steps_in_profile = (end / dt).ceil() as u64;
    let mut sample_every = (steps_in_profile / MAX_SAMPLES as u64).max(1);
    let mut credit = bucket.bucket_bytes;
    let mut backlog = 0.0_f64;
    let mut out = Outcome {
        throttled_secs: 0.0,
        over_burst_secs: 0.0,
        bytes_delayed: 0.0,
        max_backlog_bytes: 0.0,
        max_backlog_at_secs: 0.0,
        longest_backlog_secs: 0.0,
        delivered_by_secs: end,
        profile_secs: end,
        offered_bytes: profile.total_bytes(),
        samples: Vec::new(),
    };
    let mut episode = 0.0;
    let (mut span_offered, mut span_sent, mut span_steps) = (0.0, 0.0, 0_u64);
    let mut step = 0_u64;
    loop {
        let t0 = step as f64 * dt;
        if t0 >= end && backlog < EMPTY {
            break;
        }
        let offered = if t0 < end {
            profile.bytes_between(t0, (t0 + dt).min(end))
        } else {
            0.0
        };
        let want = backlog + offered;
        let allowance = peak.min(base + credit);
        let sent = want.min(allowance);
        if sent > base {
            credit = (credit - (sent - base)).max(0.0);
        } else {
            credit = (credit + (base - sent) * earn).min(bucket.bucket_bytes);
        }
        // First in, first out: the backlog goes first, then the step's own bytes.
        out.bytes_delayed += (offered - (sent - backlog).max(0.0)).max(0.0);
        backlog = want - sent;
        if backlog >= EMPTY {
            out.throttled_secs += dt;
            if allowance >= peak {
                out.over_burst_secs += dt;
            }
            episode += dt;
            out.longest_backlog_secs = out.longest_backlog_secs.max(episode);
            if backlog > out.max_backlog_bytes {
                out.max_backlog_bytes = backlog;
                out.max_backlog_at_secs = t0 + dt;
            }
            out.delivered_by_secs = out.delivered_by_secs.max(t0 + dt);
        } else {
            if t0 >= end {
                out.delivered_by_secs = t0 + dt;
            }
            backlog = 0.0;
            episode = 0.0;
        }
        span_offered += offered;
        span_sent += sent;
        span_steps += 1;
        if span_steps == sample_every {
            let span = span_steps as f64 * dt;
            out.samples.push(Sample {
                t_secs: t0 + dt,
                offered_bits_per_sec: span_offered * 8.0 / span,
                delivered_bits_per_sec: span_sent * 8.0 / span,
                bucket_level_bytes: credit,
                backlog_bytes: backlog,
            });
            (span_offered, span_sent, span_steps) = (0.0, 0.0, 0);
            if out.samples.len() >= 2 * MAX_SAMPLES {
                // A backlog drains past the profile's end: halve the samples, keep their sums.
                out.samples = halve(&out.samples);
                sample_every *= 2;
            }
        }
        step += 1;
    }
    out
}

/// Merges each pair of equal-span samples into one (rates averaged, levels at its end).
fn halve(samples: &[Sample]) -> Vec<Sample> {
    samples
        .chunks(2)
        .map(|pair| {
            let last = pair[pair.len() - 1];
            let n = pair.len() as f64;
            Sample {
                offered_bits_per_sec: pair.iter().map(|s| s.offered_bits_per_sec).sum::<f64>() / n,
                delivered_bits_per_sec: pair.iter().map(|s| s.delivered_bits_per_sec).sum::<f64>()
                    / n,
                ..last
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::profile::Profile;

    /// `tbf rate 50mbit peakrate 400mbit burst 350mb`, in bytes.
    fn tbf() -> Bucket {
        Bucket {
            burst_bytes_per_sec: 50e6,
            bucket_bytes: 350e6,
            baseline_bytes_per_sec: 6.25e6,
            refill_bytes_per_sec: 6.25e6,
        }
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn traffic_under_the_baseline_is_never_throttled() {
        let profile = Profile::constant(40e6, 3600.0); // 40 Mbit/s for an hour
        let out = replay(&profile, &tbf(), 0.1);
        assert_eq!(out.throttled_secs, 0.0);
        assert_eq!(out.bytes_delayed, 0.0);
        assert!(close(out.delivered_by_secs, 3600.0, 1e-6));
    }

    #[test]
    fn a_burst_longer_than_the_bucket_waits_by_hand_computed_figures() {
        // 400 Mbit/s (50 MB/s) for 20 s into a 350 MB bucket: credit lasts 350 / 43.75 = 8 s;
        // then 6.25 MB/s goes out and the backlog grows by 43.75 MB/s for 12 s = 525 MB, which
        // drains at 6.25 MB/s in 84 s: everything is delivered at 104 s, and the bytes offered
        // after 8 s (600 MB) all waited.
        let profile = Profile::constant(400e6, 20.0);
        let out = replay(&profile, &tbf(), 0.01);
        assert!(close(out.max_backlog_bytes, 525e6, 1e6), "{out:?}");
        assert!(close(out.max_backlog_at_secs, 20.0, 0.02), "{out:?}");
        assert!(close(out.delivered_by_secs, 104.0, 0.1), "{out:?}");
        assert!(close(out.throttled_secs, 96.0, 0.1), "{out:?}");
        assert!(close(out.longest_backlog_secs, 96.0, 0.1), "{out:?}");
        assert!(close(out.bytes_delayed, 600e6, 1e6), "{out:?}");
        assert_eq!(out.over_burst_secs, 0.0);
    }

    #[test]
    fn an_idle_task_earns_credit_at_the_refill_rate() {
        // Drain (8 s of burst), stay idle 4 s, then burst again: tbf refills 25 MB in 4 s,
        // which lasts 25 / 43.75 = 0.571 s at the burst rate.
        let profile = Profile::from_rates(&[(400e6, 8.0), (0.0, 4.0), (400e6, 2.0)]).unwrap();
        let out = replay(&profile, &tbf(), 0.001);
        // In the last 2 s: 0.571 s at 50 MB/s, the rest at 6.25 MB/s; the rest waits.
        let waited = 2.0 * 50e6 - (0.5714 * 50e6 + (2.0 - 0.5714) * 6.25e6);
        assert!(close(out.max_backlog_bytes, waited, 0.2e6), "{out:?}");
        // With a refill twice the baseline, the same idle earns 50 MB.
        let fast = Bucket {
            refill_bytes_per_sec: 12.5e6,
            ..tbf()
        };
        let out = replay(&profile, &fast, 0.001);
        let waited = 2.0 * 50e6 - (1.1428 * 50e6 + (2.0 - 1.1428) * 6.25e6);
        assert!(close(out.max_backlog_bytes, waited, 0.2e6), "{out:?}");
    }

    /// Issue 24: a bucket that refills at half its baseline rate (as a refill test may
    /// measure) earns half the credit in the same quiet time, and the profile is delivered
    /// later by exactly the credit it lacks over the baseline.
    #[test]
    fn a_refill_at_half_the_baseline_delays_delivery_by_hand_computed_seconds() {
        // Drain the 350 MB bucket (8 s at 50 MB/s), stay quiet 12 s, then offer 50 MB/s for
        // 4 s (200 MB). At the baseline rate the quiet earns 6.25 x 12 = 75 MB: 75 / 43.75 =
        // 1.714 s at the burst rate, then the baseline: 25 + 75 = 100 MB go out by 24 s and
        // 100 MB wait, which drain at 6.25 MB/s in 16 s: delivered by 40 s, throttled from
        // 21.714 s on (18.29 s), and the 114.3 MB offered after 21.714 s all waited.
        let profile = Profile::from_rates(&[(400e6, 8.0), (0.0, 12.0), (400e6, 4.0)]).unwrap();
        let out = replay(&profile, &tbf(), 0.001);
        assert!(close(out.delivered_by_secs, 40.0, 0.01), "{out:?}");
        assert!(close(out.max_backlog_bytes, 100e6, 0.1e6), "{out:?}");
        assert!(close(out.throttled_secs, 18.286, 0.01), "{out:?}");
        assert!(close(out.bytes_delayed, 114.29e6, 0.1e6), "{out:?}");
        // At half the baseline the quiet earns 37.5 MB (0.857 s of burst): 25 + 37.5 MB go
        // out by 24 s, 137.5 MB wait and drain in 22 s: delivered by 46 s, throttled from
        // 20.857 s on (25.14 s), 157.1 MB delayed.
        let half = Bucket {
            refill_bytes_per_sec: 3.125e6,
            ..tbf()
        };
        let out = replay(&profile, &half, 0.001);
        assert!(close(out.delivered_by_secs, 46.0, 0.01), "{out:?}");
        assert!(close(out.max_backlog_bytes, 137.5e6, 0.1e6), "{out:?}");
        assert!(close(out.throttled_secs, 25.143, 0.01), "{out:?}");
        assert!(close(out.bytes_delayed, 157.14e6, 0.1e6), "{out:?}");
    }

    #[test]
    fn demand_above_the_burst_rate_is_over_the_burst_even_with_credit() {
        // Twice the burst rate for 2 s, with ample credit: 100 MB waits at 2 s and drains at the
        // burst rate by 4 s; all that time the queue is the burst rate's, not the bucket's.
        let profile = Profile::constant(800e6, 2.0);
        let out = replay(&profile, &tbf(), 0.01);
        assert!(close(out.over_burst_secs, 4.0, 0.02), "{out:?}");
        assert!(close(out.throttled_secs, 4.0, 0.02), "{out:?}");
        assert!(close(out.max_backlog_bytes, 100e6, 1e6), "{out:?}");
        assert!(close(out.delivered_by_secs, 4.0, 0.02), "{out:?}");
    }

    #[test]
    fn samples_stay_few_and_add_up_to_what_was_offered() {
        let profile = Profile::constant(100e6, 7200.0);
        let out = replay(&profile, &tbf(), 0.1);
        // Over the baseline: the backlog drains long after the profile, and samples stay few.
        // (90 GB - 350 MB of credit) at 6.25 MB/s: delivered by 14,344 s.
        assert!(
            close(out.delivered_by_secs, 14_344.0, 0.2),
            "{}",
            out.delivered_by_secs
        );
        assert!(
            out.samples.len() <= 2 * MAX_SAMPLES,
            "{}",
            out.samples.len()
        );
        let mut t = 0.0;
        let mut offered = 0.0;
        for s in &out.samples {
            offered += s.offered_bits_per_sec / 8.0 * (s.t_secs - t);
            t = s.t_secs;
        }
        assert!(
            close(offered, out.offered_bytes, 1e3),
            "{offered} {}",
            out.offered_bytes
        );
    }
}
