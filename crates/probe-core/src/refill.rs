//! Refill: how fast a token bucket fills again once it has been drained.
//!
//! A refill test drains the bucket (a burst, then the baseline: [`crate::regime`]), stays idle
//! for a given time, then bursts again until the baseline is back, for one idle time or several.
//! A bucket that fills at `R` bit/s while the link is quiet holds `R x quiet / 8` bytes when the
//! re-burst starts, and the re-burst spends exactly those above the baseline: bytes above the
//! baseline over the quiet time is the refill rate. A tbf shaper (and, if it is one, Fargate's)
//! refills at its `rate`, the baseline, and never beyond its bucket.
//!
//! [`analyze`] takes the drain's regime and each re-burst's interval series and returns the
//! figures and a verdict; [`quiet_below_bits_per_sec`] and [`back_at_baseline`] are the rule that
//! ends a re-burst. Pure: numbers in, numbers and words out, tested on hand-computed series.

use serde::{Deserialize, Serialize};

use crate::regime::{BurstBaseline, Regime};
use crate::report::Direction;
use crate::stats::SampleSummary;
use crate::units::{format_bits_per_sec, format_bytes};

/// A re-burst interval is back at the baseline below the baseline plus this share of the way to
/// the burst rate (a quarter: far above the baseline's noise, far below any burst).
pub const QUIET_SHARE: f64 = 0.25;

/// A re-burst that gave back this share of the drained bucket or more found the bucket full:
/// its bytes over its quiet time are only a lower bound of the refill rate.
pub const FULL_SHARE: f64 = 0.9;

/// How far a full re-burst may differ from the drained bucket and still be "the bucket".
pub const SATURATION_TOLERANCE: f64 = 0.1;

/// A refill rate from this share of the baseline ...
pub const SAME_RATE_LOW: f64 = 0.8;

/// ... to this one is "about the baseline rate".
pub const SAME_RATE_HIGH: f64 = 1.25;

/// Re-bursts that all gave back less than this share of the baseline rate mean the bucket does
/// not refill (within the idle times tried).
pub const NO_REFILL_SHARE: f64 = 0.1;

/// One re-burst as measured by the receiver: what [`analyze`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReburstSeries<'a> {
    /// Idle time asked for.
    pub idle_ns: u64,
    /// How long the link was really quiet before the re-burst (the receiver's last byte of the
    /// phase before to its first byte of this one); `None`: take the idle time.
    pub quiet_ns: Option<u64>,
    /// Interval length.
    pub interval_ns: u64,
    /// Bytes received in each interval of the re-burst's measured window.
    pub interval_bytes: &'a [u64],
    /// The re-burst's measured window (the last interval may be cut short by it).
    pub measured_ns: u64,
    /// The window ran to its cap: the rate never came back to the baseline.
    pub reached_cap: bool,
}

/// What one re-burst gave back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reburst {
    /// Idle time asked for.
    pub idle_ns: u64,
    /// How long the link was quiet before it: what the bucket had to refill in.
    pub quiet_ns: u64,
    /// Length of the re-burst's measured window.
    pub measured_ns: u64,
    /// Payload bytes received in that window.
    pub received_bytes: u64,
    /// Received bytes beyond what the drain's baseline would have delivered in the window: what
    /// the bucket had refilled.
    pub bytes_above_baseline: u64,
    /// How long the re-burst ran above the baseline, as time at the drain's burst rate.
    pub burst_duration_ns: u64,
    /// `bytes_above_baseline * 8 / quiet`: the refill rate this idle time shows.
    pub refill_bits_per_sec: f64,
    /// `bytes_above_baseline` over the drained bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of_bucket: Option<f64>,
    /// It gave back [`FULL_SHARE`] of the bucket or more: the bucket was full again, so its rate
    /// is only a lower bound.
    pub full: bool,
    /// The baseline never came back within the cap: its bytes are a lower bound.
    pub reached_cap: bool,
    /// Interval length of the series below.
    pub interval_ns: u64,
    /// Bytes received per interval, so the re-burst can be drawn.
    pub interval_bytes: Vec<u64>,
}

/// How the bucket behaves, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefillVerdict {
    /// The refill rate is within [`SAME_RATE_LOW`]..[`SAME_RATE_HIGH`] of the baseline.
    AtBaselineRate,
    /// Faster than that (or, when every re-burst found the bucket full, at least that fast).
    FasterThanBaseline,
    /// Slower than that, but it refills.
    SlowerThanBaseline,
    /// No re-burst gave back even [`NO_REFILL_SHARE`] of the baseline rate.
    DoesNotRefill,
    /// Every re-burst found the bucket full again (or never came back to the baseline): the
    /// rate is above a bound that does not tell it from the baseline.
    Undetermined,
    /// The drain found no burst then baseline: there was no bucket to refill.
    NoBucket,
}

/// The refill test's answer for one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refill {
    /// Direction of the data.
    pub direction: Direction,
    /// How the bucket behaves.
    pub verdict: RefillVerdict,
    /// The verdict in words, with its figures: `refills at about the baseline rate: ...`.
    pub summary: String,
    /// The drain's bytes above the baseline: the bucket as the test found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_bytes: Option<u64>,
    /// The drain's baseline (median), the reference for every re-burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_bits_per_sec: Option<f64>,
    /// The drain's burst rate (median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_bits_per_sec: Option<f64>,
    /// One per idle time, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rebursts: Vec<Reburst>,
    /// Refill rate over the re-bursts that found the bucket partly full: all their bytes above
    /// the baseline over all their quiet time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_bits_per_sec: Option<f64>,
    /// The same re-bursts' rates one by one: spread and 95 % interval (two or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_rates_bits_per_sec: Option<SampleSummary>,
    /// `refill_bits_per_sec` over the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_to_baseline: Option<f64>,
    /// The drained bucket over the refill rate: how long the link must stay quiet to get the
    /// whole burst back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_refill_ns: Option<u64>,
    /// Whether the re-burst after the longest idle gave back about the drained bucket (and no
    /// more); absent when that idle was too short to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturates_at_bucket: Option<bool>,
}

/// The rate below which a re-burst's interval counts as back at the drain's baseline.
pub fn quiet_below_bits_per_sec(drain: &BurstBaseline) -> f64 {
    let base = drain.baseline_bits_per_sec.median;
    base + QUIET_SHARE * (drain.burst_bits_per_sec - base).max(0.0)
}

/// Whether a re-burst is over: the last `hold_ns` of its completed intervals (one at least) all
/// ran below `quiet_below_bits_per_sec`.
pub fn back_at_baseline(
    completed: &[u64],
    interval_ns: u64,
    hold_ns: u64,
    quiet_below_bits_per_sec: f64,
) -> bool {
    let interval_ns = interval_ns.max(1);
    let need = hold_ns.div_ceil(interval_ns).max(1) as usize;
    completed.len() >= need
        && completed[completed.len() - need..]
            .iter()
            .all(|b| rate(*b, interval_ns) < quiet_below_bits_per_sec)
}

/// All the re-bursts' bytes above the baseline over all their quiet time.
fn pooled_rate(rebursts: &[&Reburst]) -> Option<f64> {
    let quiet: u64 = rebursts.iter().map(|r| r.quiet_ns).sum();
    let bytes: f64 = rebursts.iter().map(|r| r.bytes_above_baseline as f64).sum();
    (quiet > 0).then(|| bytes * 8e9 / quiet as f64)
}

fn rate(bytes: u64, ns: u64) -> f64 {
    bytes as f64 * 8e9 / ns.max(1) as f64
}

/// Reads the refill out of a drain and the re-bursts that followed it.
pub fn analyze(direction: Direction, drain: &Regime, rebursts: &[ReburstSeries<'_>]) -> Refill {
    let Some(b) = drain.burst_baseline() else {
        return Refill {
            direction,
            verdict: RefillVerdict::NoBucket,
            summary: format!(
                "no refill measured: the drain found no burst then baseline ({}), so there was \
                 no bucket to refill",
                drain.describe()
            ),
            bucket_bytes: None,
            baseline_bits_per_sec: None,
            burst_bits_per_sec: None,
            rebursts: Vec::new(),
            refill_bits_per_sec: None,
            refill_rates_bits_per_sec: None,
            refill_to_baseline: None,
            full_refill_ns: None,
            saturates_at_bucket: None,
        };
    };
    let base = b.baseline_bits_per_sec.median;
    let bucket = b.burst_bytes_above_baseline;
    let quiet_below = quiet_below_bits_per_sec(b);
    let measured: Vec<Reburst> = rebursts
        .iter()
        .map(|r| reburst(r, base, b.burst_bits_per_sec, quiet_below, bucket))
        .collect();

    // Re-bursts that found the bucket partly full measure the rate; the others bound it.
    let partial: Vec<&Reburst> = measured
        .iter()
        .filter(|r| !r.full && !r.reached_cap)
        .collect();
    let pooled = pooled_rate(&partial);
    let rates: Vec<f64> = partial.iter().map(|r| r.refill_bits_per_sec).collect();
    let spread = if rates.len() >= 2 {
        SampleSummary::from_values(&rates)
    } else {
        None
    };
    let ratio = pooled.filter(|_| base > 0.0).map(|p| p / base);
    let full_refill_ns = pooled
        .filter(|p| *p > 0.0)
        .map(|p| (bucket as f64 * 8e9 / p).round() as u64);
    let longest = measured.iter().enumerate().max_by_key(|(_, r)| r.quiet_ns);
    let saturates_at_bucket = longest.and_then(|(i, l)| match l.share_of_bucket {
        Some(s) if s >= FULL_SHARE => Some(s <= 1.0 + SATURATION_TOLERANCE),
        // Quiet longer than a full refill at the rate the other idle times show (all of them
        // when there are no others), and still short of the bucket: recovery stopped early.
        Some(_) => {
            let others: Vec<&Reburst> = measured
                .iter()
                .enumerate()
                .filter(|(j, r)| *j != i && !r.full && !r.reached_cap)
                .map(|(_, r)| r)
                .collect();
            let predicted = pooled_rate(&others).or(pooled);
            predicted
                .filter(|p| *p > 0.0)
                .map(|p| bucket as f64 * 8e9 / p)
                .filter(|full| l.quiet_ns as f64 >= (1.0 + SATURATION_TOLERANCE) * full)
                .map(|_| false)
        }
        None => None,
    });
    // The tightest lower bound the full (or capped) re-bursts give.
    let bound = measured
        .iter()
        .filter(|r| r.full || r.reached_cap)
        .map(|r| r.refill_bits_per_sec)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let none_refilled = !measured.is_empty()
        && measured
            .iter()
            .all(|r| !r.full && !r.reached_cap && r.refill_bits_per_sec < NO_REFILL_SHARE * base);
    let verdict = match (ratio, bound) {
        _ if measured.is_empty() => RefillVerdict::Undetermined,
        _ if none_refilled => RefillVerdict::DoesNotRefill,
        (Some(r), _) if r > SAME_RATE_HIGH => RefillVerdict::FasterThanBaseline,
        (Some(r), _) if r >= SAME_RATE_LOW => RefillVerdict::AtBaselineRate,
        (Some(_), _) => RefillVerdict::SlowerThanBaseline,
        (None, Some(lower)) if lower > SAME_RATE_HIGH * base => RefillVerdict::FasterThanBaseline,
        (None, _) => RefillVerdict::Undetermined,
    };
    let mut refill = Refill {
        direction,
        verdict,
        summary: String::new(),
        bucket_bytes: Some(bucket),
        baseline_bits_per_sec: Some(base),
        burst_bits_per_sec: Some(b.burst_bits_per_sec),
        rebursts: measured,
        refill_bits_per_sec: pooled,
        refill_rates_bits_per_sec: spread,
        refill_to_baseline: ratio,
        full_refill_ns,
        saturates_at_bucket,
    };
    refill.summary = summary(&refill, bound);
    refill
}

fn reburst(r: &ReburstSeries<'_>, base: f64, burst: f64, quiet_below: f64, bucket: u64) -> Reburst {
    let interval_ns = r.interval_ns.max(1);
    // (duration, bytes) of each interval inside the measured window.
    let intervals: Vec<(u64, u64)> = r
        .interval_bytes
        .iter()
        .enumerate()
        .map(|(i, bytes)| (i as u64 * interval_ns, *bytes))
        .take_while(|(start, _)| *start < r.measured_ns)
        .map(|(start, bytes)| (interval_ns.min(r.measured_ns - start), bytes))
        .collect();
    let received: u64 = intervals.iter().map(|(_, b)| b).sum();
    // Signed: the baseline's noise cancels over the window instead of piling up.
    let excess: f64 = intervals
        .iter()
        .map(|(ns, bytes)| *bytes as f64 - base / 8.0 * *ns as f64 / 1e9)
        .sum();
    let bytes_above = excess.max(0.0).round() as u64;
    // Up to the last interval above the baseline, each interval's share of the way from the
    // baseline to the burst rate is the share of it spent bursting.
    let last_high = intervals
        .iter()
        .rposition(|(ns, bytes)| rate(*bytes, *ns) >= quiet_below);
    let span = burst - base;
    let burst_ns: f64 = match last_high {
        Some(last) if span > 0.0 => intervals[..=last]
            .iter()
            .map(|(ns, bytes)| ((rate(*bytes, *ns) - base) / span).clamp(0.0, 1.0) * *ns as f64)
            .sum(),
        _ => 0.0,
    };
    let quiet_ns = r.quiet_ns.unwrap_or(r.idle_ns).max(1);
    let share = (bucket > 0).then(|| bytes_above as f64 / bucket as f64);
    Reburst {
        idle_ns: r.idle_ns,
        quiet_ns,
        measured_ns: r.measured_ns,
        received_bytes: received,
        bytes_above_baseline: bytes_above,
        burst_duration_ns: burst_ns.round() as u64,
        refill_bits_per_sec: rate(bytes_above, quiet_ns),
        share_of_bucket: share,
        full: share.is_some_and(|s| s >= FULL_SHARE),
        reached_cap: r.reached_cap,
        interval_ns,
        interval_bytes: intervals.iter().map(|(_, b)| *b).collect(),
    }
}

/// `4 s`, `2.5 s`, `12.0 min`, `7.5 h`.
fn format_span(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s < 600.0 {
        if (s - s.round()).abs() < 0.05 {
            format!("{s:.0} s")
        } else {
            format!("{s:.1} s")
        }
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn summary(r: &Refill, bound: Option<f64>) -> String {
    let base = r.baseline_bits_per_sec.unwrap_or(0.0);
    let bucket = r.bucket_bytes.unwrap_or(0);
    let longest = r.rebursts.iter().max_by_key(|x| x.quiet_ns);
    let longest_idle = longest.map_or(0, |l| l.idle_ns);
    let rate = r.refill_bits_per_sec.unwrap_or(0.0);
    let interval = r
        .refill_rates_bits_per_sec
        .as_ref()
        .and_then(|s| Some((s.ci95_low?.max(0.0), s.ci95_high?, s.n)))
        .map(|(lo, hi, n)| {
            format!(
                " (95 % interval {} to {} over {n} idle times)",
                format_bits_per_sec(lo),
                format_bits_per_sec(hi)
            )
        })
        .unwrap_or_default();
    let mut text = match r.verdict {
        RefillVerdict::NoBucket => return "no refill measured".into(),
        RefillVerdict::DoesNotRefill => {
            let most = r
                .rebursts
                .iter()
                .map(|x| x.bytes_above_baseline)
                .max()
                .unwrap_or(0);
            return format!(
                "does not refill within {}: after idle times up to that, no re-burst sent more \
                 than {} above the baseline of {}",
                format_span(longest_idle),
                format_bytes(most),
                format_bits_per_sec(base)
            );
        }
        RefillVerdict::AtBaselineRate => format!(
            "refills at about the baseline rate: {}{interval} against a baseline of {}",
            format_bits_per_sec(rate),
            format_bits_per_sec(base)
        ),
        RefillVerdict::SlowerThanBaseline => format!(
            "refills slower than the baseline: {}{interval} against a baseline of {} ({:.2}x)",
            format_bits_per_sec(rate),
            format_bits_per_sec(base),
            r.refill_to_baseline.unwrap_or(0.0)
        ),
        RefillVerdict::FasterThanBaseline => match r.refill_bits_per_sec {
            Some(rate) => format!(
                "refills faster than the baseline: {}{interval} against a baseline of {} ({:.2}x)",
                format_bits_per_sec(rate),
                format_bits_per_sec(base),
                r.refill_to_baseline.unwrap_or(0.0)
            ),
            None => format!(
                "refills faster than the baseline: the bucket was full again after every idle \
                 time, so at least {} against a baseline of {}",
                format_bits_per_sec(bound.unwrap_or(0.0)),
                format_bits_per_sec(base)
            ),
        },
        RefillVerdict::Undetermined => format!(
            "refill rate not measured: the bucket was full again (or the baseline never came \
             back) after every idle time, so it refills at {} or faster against a baseline of \
             {}; idle less to measure the rate",
            format_bits_per_sec(bound.unwrap_or(0.0)),
            format_bits_per_sec(base)
        ),
    };
    if let Some(full) = r.full_refill_ns {
        text.push_str(&format!(
            "; the drained bucket of {} refills in about {}",
            format_bytes(bucket),
            format_span(full)
        ));
    }
    if let Some(l) = longest {
        let share = l.share_of_bucket.unwrap_or(0.0) * 100.0;
        let idle = format_span(l.idle_ns);
        match r.saturates_at_bucket {
            Some(true) => text.push_str(&format!(
                "; after {idle} idle it gave back {share:.0} % of the drained bucket: recovery \
                 saturates at the bucket"
            )),
            Some(false) if share > 100.0 => text.push_str(&format!(
                "; after {idle} idle it gave back {share:.0} % of the drained bucket, more than \
                 the drain found: the bucket was not full when the test began"
            )),
            Some(false) => text.push_str(&format!(
                "; after {idle} idle, longer than a full refill at that rate, it gave back only \
                 {share:.0} % of the bucket: recovery stops short of it"
            )),
            None => text.push_str(&format!(
                "; the longest idle ({idle}) was too short to refill the whole bucket, so \
                 whether recovery saturates at it is not known"
            )),
        }
    }
    for x in r.rebursts.iter().filter(|x| x.reached_cap) {
        text.push_str(&format!(
            "; after {} idle the rate never came back to the baseline within the cap, so that \
             re-burst's bytes are a lower bound",
            format_span(x.idle_ns)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::{detect, DetectorConfig, Sample};

    const S: u64 = 1_000_000_000;
    const DIR: Direction = Direction::ClientToServer;

    /// A drain read by the detector from whole seconds at `burst` then `baseline` bit/s.
    fn drain(burst: f64, burst_secs: usize, baseline: f64, baseline_secs: usize) -> Regime {
        let samples: Vec<Sample> = (0..burst_secs + baseline_secs)
            .map(|i| Sample {
                start_ns: i as u64 * S,
                duration_ns: S,
                bits_per_sec: if i < burst_secs { burst } else { baseline },
            })
            .collect();
        detect(&samples, &DetectorConfig::default())
    }

    fn series(idle_s: u64, bytes: &[u64]) -> ReburstSeries<'_> {
        ReburstSeries {
            idle_ns: idle_s * S,
            quiet_ns: None,
            interval_ns: S,
            interval_bytes: bytes,
            measured_ns: bytes.len() as u64 * S,
            reached_cap: false,
        }
    }

    /// The link of the truth test: 400 Mbit/s burst, 50 Mbit/s baseline (6.25 MB/s).
    const BASE: u64 = 6_250_000;

    #[test]
    fn a_tbf_link_refills_at_its_rate_after_4_and_20_s() {
        // 8 s at 400 Mbit/s, then 50: the bucket is 8 s x 350 Mbit/s = 350 MB.
        let d = drain(400e6, 8, 50e6, 12);
        // 4 s at 50 Mbit/s refill 25 MB: spent at 350 Mbit/s above the baseline in 0.571 s,
        // so the first second carries 25 MB above the baseline.
        let after_4 = [BASE + 25_000_000, BASE, BASE, BASE];
        // 20 s refill 125 MB: 2.857 s above the baseline, 43.75 MB of it in each full second.
        let after_20 = [50_000_000, 50_000_000, BASE + 37_500_000, BASE, BASE, BASE];
        let r = analyze(DIR, &d, &[series(4, &after_4), series(20, &after_20)]);
        assert_eq!(r.bucket_bytes, Some(350_000_000));
        assert_eq!(r.rebursts[0].bytes_above_baseline, 25_000_000);
        assert_eq!(r.rebursts[1].bytes_above_baseline, 125_000_000);
        assert_eq!(r.rebursts[0].refill_bits_per_sec, 50e6);
        assert_eq!(r.rebursts[1].refill_bits_per_sec, 50e6);
        // 25 MB / 43.75 MB/s = 0.5714 s; 125 MB / 43.75 MB/s = 2.857 s.
        assert_eq!(r.rebursts[0].burst_duration_ns, 571_428_571);
        assert_eq!(r.rebursts[1].burst_duration_ns, 2_857_142_857);
        assert_eq!(r.rebursts[1].received_bytes, 162_500_000);
        // (25 + 125) MB x 8 over 24 s.
        assert_eq!(r.refill_bits_per_sec, Some(50e6));
        assert_eq!(r.refill_to_baseline, Some(1.0));
        let spread = r.refill_rates_bits_per_sec.as_ref().unwrap();
        assert_eq!((spread.n, spread.min, spread.max), (2, 50e6, 50e6));
        // 350 MB at 50 Mbit/s: 56 s; 20 s of idle is too short to see saturation.
        assert_eq!(r.full_refill_ns, Some(56 * S));
        assert_eq!(r.saturates_at_bucket, None);
        assert_eq!(r.verdict, RefillVerdict::AtBaselineRate);
        assert!(
            r.summary
                .starts_with("refills at about the baseline rate: 50.00 Mbit/s"),
            "{}",
            r.summary
        );
        assert!(r.summary.contains("refills in about 56 s"), "{}", r.summary);
        assert!(!r.rebursts[0].full && r.rebursts[0].share_of_bucket == Some(25.0 / 350.0));
    }

    #[test]
    fn a_long_idle_gives_back_the_bucket_and_no_more() {
        // 2 s at 400, then 50: an 87.5 MB bucket, refilled at 50 Mbit/s in 14 s.
        let d = drain(400e6, 2, 50e6, 10);
        let after_4 = [BASE + 25_000_000, BASE, BASE];
        // After 30 s idle (a full refill is 14 s) the re-burst spends the whole 87.5 MB.
        let after_30 = [50_000_000, 50_000_000, BASE, BASE, BASE];
        let r = analyze(DIR, &d, &[series(4, &after_4), series(30, &after_30)]);
        assert_eq!(r.bucket_bytes, Some(87_500_000));
        let full = &r.rebursts[1];
        assert_eq!(full.bytes_above_baseline, 87_500_000);
        assert_eq!(full.share_of_bucket, Some(1.0));
        assert!(full.full);
        assert_eq!(full.burst_duration_ns, 2 * S);
        // Only the partial re-burst measures the rate: 25 MB in 4 s.
        assert_eq!(r.refill_bits_per_sec, Some(50e6));
        assert_eq!(
            r.refill_rates_bits_per_sec, None,
            "one value has no interval"
        );
        assert_eq!(r.full_refill_ns, Some(14 * S));
        assert_eq!(r.saturates_at_bucket, Some(true));
        assert_eq!(r.verdict, RefillVerdict::AtBaselineRate);
        assert!(
            r.summary
                .contains("after 30 s idle it gave back 100 % of the drained bucket: recovery saturates at the bucket"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_bucket_that_refills_twice_as_fast_says_so() {
        let d = drain(400e6, 8, 50e6, 12);
        // 50 MB after 4 s: 100 Mbit/s.
        let r = analyze(DIR, &d, &[series(4, &[50_000_000, BASE + 6_250_000, BASE])]);
        assert_eq!(r.refill_bits_per_sec, Some(100e6));
        assert_eq!(r.refill_to_baseline, Some(2.0));
        assert_eq!(r.verdict, RefillVerdict::FasterThanBaseline);
        assert!(r
            .summary
            .starts_with("refills faster than the baseline: 100.00 Mbit/s"));
    }

    #[test]
    fn a_bucket_that_stays_empty_does_not_refill() {
        let d = drain(400e6, 8, 50e6, 12);
        let flat = [BASE; 5];
        let r = analyze(DIR, &d, &[series(30, &flat), series(120, &flat)]);
        assert_eq!(r.rebursts[1].bytes_above_baseline, 0);
        assert_eq!(r.rebursts[1].burst_duration_ns, 0);
        assert_eq!(r.refill_bits_per_sec, Some(0.0));
        assert_eq!(r.full_refill_ns, None);
        assert_eq!(r.verdict, RefillVerdict::DoesNotRefill);
        assert_eq!(
            r.summary,
            "does not refill within 120 s: after idle times up to that, no re-burst sent more \
             than 0 B above the baseline of 50.00 Mbit/s"
        );
    }

    #[test]
    fn a_slow_refill_and_a_short_fall_are_told() {
        let d = drain(400e6, 2, 50e6, 10); // 87.5 MB bucket
        let after_4 = [BASE + 12_500_000, BASE, BASE];
        // 12.5 MB after 4 s and 62.5 MB after 20 s: 25 Mbit/s, half the baseline.
        let r = analyze(
            DIR,
            &d,
            &[
                series(4, &after_4),
                series(20, &[BASE + 62_500_000, BASE, BASE]),
            ],
        );
        assert_eq!(r.refill_bits_per_sec, Some(25e6));
        assert_eq!(r.verdict, RefillVerdict::SlowerThanBaseline);
        assert!(
            r.summary
                .starts_with("refills slower than the baseline: 25.00 Mbit/s"),
            "{}",
            r.summary
        );
        // 87.5 MB at 25 Mbit/s takes 28 s: 20 s cannot tell.
        assert_eq!(r.full_refill_ns, Some(28 * S));
        assert_eq!(r.saturates_at_bucket, None);
        // 40 s of quiet, past the 28 s the 4 s idle predicts, gave back half the bucket only.
        let r = analyze(
            DIR,
            &d,
            &[
                series(4, &after_4),
                series(40, &[BASE + 43_750_000, BASE, BASE]),
            ],
        );
        assert_eq!(r.rebursts[1].share_of_bucket, Some(0.5));
        assert_eq!(r.saturates_at_bucket, Some(false));
        assert!(r.summary.contains("stops short"), "{}", r.summary);
    }

    #[test]
    fn full_buckets_only_bound_the_rate() {
        let d = drain(400e6, 2, 50e6, 10); // 87.5 MB, a full refill in 14 s
        let full = [50_000_000, 50_000_000, BASE];
        // Full after 5 s: at least 140 Mbit/s, far above the baseline.
        let r = analyze(DIR, &d, &[series(5, &full)]);
        assert_eq!(r.refill_bits_per_sec, None);
        assert_eq!(r.verdict, RefillVerdict::FasterThanBaseline);
        assert!(
            r.summary.contains("at least 140.00 Mbit/s"),
            "{}",
            r.summary
        );
        // Full after 30 s: at least 23.3 Mbit/s, which does not tell it from the baseline.
        let r = analyze(DIR, &d, &[series(30, &full)]);
        assert_eq!(r.verdict, RefillVerdict::Undetermined);
        assert!(r.summary.contains("idle less"), "{}", r.summary);
        assert_eq!(r.saturates_at_bucket, Some(true));
    }

    #[test]
    fn the_measured_quiet_time_is_the_denominator_and_noise_cancels() {
        let d = drain(400e6, 8, 50e6, 12);
        // The link was quiet 4.1 s for a 4 s idle; the baseline wobbles +-1 MB around 6.25 MB.
        let bytes = [BASE + 25_625_000, BASE + 1_000_000, BASE - 1_000_000, BASE];
        let s = ReburstSeries {
            quiet_ns: Some(4_100_000_000),
            ..series(4, &bytes)
        };
        let r = analyze(DIR, &d, &[s]);
        assert_eq!(r.rebursts[0].bytes_above_baseline, 25_625_000);
        assert_eq!(r.rebursts[0].refill_bits_per_sec, 50e6);
    }

    #[test]
    fn a_cut_last_interval_counts_for_its_length_only() {
        let d = drain(400e6, 8, 50e6, 12);
        // 2.5 s window: the last half second holds 3.125 MB, the baseline for half a second.
        let bytes = [BASE + 25_000_000, BASE, BASE / 2];
        let s = ReburstSeries {
            measured_ns: 2_500_000_000,
            ..series(4, &bytes)
        };
        let r = analyze(DIR, &d, &[s]);
        assert_eq!(r.rebursts[0].bytes_above_baseline, 25_000_000);
        assert_eq!(r.rebursts[0].interval_bytes.len(), 3);
    }

    #[test]
    fn a_drain_without_a_bucket_measures_no_refill() {
        let d = drain(50e6, 0, 50e6, 20);
        let r = analyze(DIR, &d, &[]);
        assert_eq!(r.verdict, RefillVerdict::NoBucket);
        assert!(r.summary.contains("flat at"), "{}", r.summary);
        assert!(r.rebursts.is_empty());
    }

    #[test]
    fn a_reburst_ends_once_the_hold_is_at_the_baseline() {
        let b = drain(400e6, 8, 50e6, 12).burst_baseline().cloned().unwrap();
        // A quarter of the way from 50 to 400 Mbit/s.
        let below = quiet_below_bits_per_sec(&b);
        assert_eq!(below, 137.5e6);
        let ms = 1_000_000;
        // 100 ms intervals: 5 MB is 400 Mbit/s, 625 kB is 50.
        let mut done = vec![5_000_000u64; 6];
        assert!(!back_at_baseline(&done, 100 * ms, 300 * ms, below));
        done.extend([625_000, 625_000]);
        assert!(
            !back_at_baseline(&done, 100 * ms, 300 * ms, below),
            "2 of 3"
        );
        done.push(640_000);
        assert!(back_at_baseline(&done, 100 * ms, 300 * ms, below));
        // A hold shorter than an interval still needs one quiet interval.
        assert!(!back_at_baseline(&[5_000_000], 100 * ms, 0, below));
        assert!(back_at_baseline(&[625_000], 100 * ms, 0, below));
    }

    #[test]
    fn spans_read_well() {
        assert_eq!(format_span(4 * S), "4 s");
        assert_eq!(format_span(2_500_000_000), "2.5 s");
        assert_eq!(format_span(720 * S), "12.0 min");
        assert_eq!(format_span(27_000 * S), "7.5 h");
    }
}
