//! `fargate-bench analyze`: the burst/baseline detection over runs people already have, in
//! iperf3's `--json` output (its per-interval `sum`s). A run that idles between bursts (an
//! application-limited iperf3 run, or a bucket drained, left alone and burst again) also gives
//! the refill: the first active stretch is the drain, and each quiet stretch then the time the
//! bucket had to refill before the burst after it ([`probe_core::refill::analyze`]).

use std::io::Read as _;
use std::path::Path;

use probe_core::refill::{self, ReburstSeries, Refill};
use probe_core::regime::{self, DetectorConfig, Regime, Sample};
use probe_core::report::Direction;
use serde::Serialize;

use crate::error::{BenchError, Result};

/// Largest file read: an hour of 0.1 s intervals of a 128-stream run is well under this.
pub const MAX_IPERF3_BYTES: u64 = 64 << 20;

/// One direction of one iperf3 run, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesAnalysis {
    /// `sum` (the test's direction) or `sum_bidir_reverse` (the reverse half of `--bidir`).
    pub series: String,
    /// Intervals read (iperf3's `--omit` intervals left out).
    pub intervals: usize,
    /// What they hold (with idle stretches, the first active stretch: the drain).
    pub regime: Regime,
    /// The refill, when the run idled between bursts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
}

/// Intervals below this share of the series' highest rate count as idle: nothing was sent.
const IDLE_SHARE: f64 = 0.01;

/// The drain's regime and the refill, when `samples` idle between active stretches: the first
/// active stretch is the drain, each idle stretch and the active stretch after it a re-burst.
/// `None` without an idle stretch followed by activity.
fn refill_of(samples: &[Sample], direction: Direction) -> Option<(Regime, Refill)> {
    let max = samples.iter().map(|s| s.bits_per_sec).fold(0.0, f64::max);
    let idle = |s: &Sample| s.bits_per_sec < IDLE_SHARE * max;
    // Stretches of equal idleness, in order: (idle, range).
    let mut stretches: Vec<(bool, std::ops::Range<usize>)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        match stretches.last_mut() {
            Some((was_idle, range)) if *was_idle == idle(s) => range.end = i + 1,
            _ => stretches.push((idle(s), i..i + 1)),
        }
    }
    let first_active = stretches.iter().position(|(idle, _)| !idle)?;
    let drain = &samples[stretches[first_active].1.clone()];
    let rebursts: Vec<(u64, &[Sample])> = stretches[first_active + 1..]
        .windows(2)
        .filter(|w| w[0].0 && !w[1].0)
        .map(|w| {
            let quiet = samples[w[0].1.clone()].iter().map(|s| s.duration_ns).sum();
            (quiet, &samples[w[1].1.clone()])
        })
        .collect();
    if rebursts.is_empty() {
        return None;
    }
    let drained = regime::detect(drain, &DetectorConfig::default());
    let bytes: Vec<Vec<u64>> = rebursts
        .iter()
        .map(|(_, burst)| {
            burst
                .iter()
                .map(|s| (s.bits_per_sec * s.duration_ns as f64 / 8e9) as u64)
                .collect()
        })
        .collect();
    let series: Vec<ReburstSeries<'_>> = rebursts
        .iter()
        .zip(&bytes)
        .map(|((quiet, burst), bytes)| ReburstSeries {
            idle_ns: *quiet,
            quiet_ns: Some(*quiet),
            interval_ns: burst[0].duration_ns,
            interval_bytes: bytes,
            measured_ns: burst.iter().map(|s| s.duration_ns).sum(),
            reached_cap: false,
        })
        .collect();
    let refill = refill::analyze(direction, &drained, &series);
    Some((drained, refill))
}

fn bad(path: &Path, why: impl Into<String>) -> BenchError {
    BenchError::NotIperf3 {
        path: path.to_owned(),
        why: why.into(),
    }
}

/// Reads an iperf3 `--json` file (at most [`MAX_IPERF3_BYTES`]) and detects the regime of each
/// direction.
///
/// # Errors
/// [`BenchError::NotIperf3`] naming the file and what is missing.
pub fn analyze_file(path: &Path) -> Result<Vec<SeriesAnalysis>> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, format!("cannot read it: {e}")))?;
    let mut text = String::new();
    file.take(MAX_IPERF3_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(path, format!("cannot read it as text: {e}")))?;
    if text.len() as u64 > MAX_IPERF3_BYTES {
        return Err(bad(
            path,
            format!(
                "it is over {} MiB, larger than any iperf3 run",
                MAX_IPERF3_BYTES >> 20
            ),
        ));
    }
    analyze(&text).map_err(|why| bad(path, why))
}

/// [`analyze_file`] on text.
///
/// # Errors
/// What is wrong, in words.
pub fn analyze(text: &str) -> std::result::Result<Vec<SeriesAnalysis>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
    if let Some(error) = doc.get("error").and_then(|e| e.as_str()) {
        return Err(format!(
            "iperf3 reported an error and measured nothing: {error}"
        ));
    }
    let intervals = doc
        .get("intervals")
        .ok_or("it has no `intervals`: is it iperf3 --json (-J) output?")?
        .as_array()
        .ok_or("its `intervals` is not a list")?;
    if intervals.is_empty() {
        return Err("its `intervals` list is empty: the run measured nothing".into());
    }
    let reverse = doc
        .pointer("/start/test_start/reverse")
        .and_then(serde_json::Value::as_i64)
        == Some(1);
    let mut out = Vec::new();
    for key in ["sum", "sum_bidir_reverse"] {
        let direction = if reverse == (key == "sum") {
            Direction::ServerToClient
        } else {
            Direction::ClientToServer
        };
        let mut samples = Vec::new();
        let mut seen = false;
        for (i, interval) in intervals.iter().enumerate() {
            let Some(sum) = interval.get(key) else {
                continue;
            };
            seen = true;
            let num = |field: &str| {
                sum.get(field)
                    .and_then(serde_json::Value::as_f64)
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| {
                        format!("interval {i}: `{key}.{field}` is missing or not a number")
                    })
            };
            if sum.get("omitted").and_then(serde_json::Value::as_bool) == Some(true) {
                continue;
            }
            let (start, seconds, bps) = (num("start")?, num("seconds")?, num("bits_per_second")?);
            samples.push(Sample {
                start_ns: (start * 1e9) as u64,
                duration_ns: (seconds * 1e9) as u64,
                bits_per_sec: bps,
            });
        }
        if !seen {
            if key == "sum" {
                return Err("its intervals have no `sum`: is it iperf3 --json (-J) output?".into());
            }
            continue;
        }
        let (regime, refill) = match refill_of(&samples, direction) {
            Some((drained, refill)) => (drained, Some(refill)),
            None => (regime::detect(&samples, &DetectorConfig::default()), None),
        };
        out.push(SeriesAnalysis {
            series: key.to_owned(),
            intervals: samples.len(),
            regime,
            refill,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iperf3(rates: &[f64]) -> String {
        let intervals: Vec<serde_json::Value> = rates
            .iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::json!({
                    "streams": [],
                    "sum": {"start": i as f64, "end": i as f64 + 1.0, "seconds": 1.0,
                            "bytes": (r / 8.0) as u64, "bits_per_second": r, "omitted": false}
                })
            })
            .collect();
        serde_json::json!({"start": {}, "intervals": intervals, "end": {}}).to_string()
    }

    #[test]
    fn a_bucket_in_an_iperf3_run_is_found() {
        let mut rates = vec![4.9e9; 20];
        rates.extend(vec![0.5e9; 30]);
        let a = analyze(&iperf3(&rates)).unwrap();
        assert_eq!(a.len(), 1);
        let b = a[0].regime.burst_baseline().unwrap();
        assert_eq!(b.change_ns, 20_000_000_000);
        assert_eq!(b.baseline_bits_per_sec.median, 0.5e9);
    }

    #[test]
    fn what_is_not_iperf3_says_which() {
        for (text, needle) in [
            ("hello", "not JSON"),
            ("{}", "no `intervals`"),
            ("{\"intervals\": []}", "empty"),
            ("{\"intervals\": [{\"streams\": []}]}", "no `sum`"),
            (
                "{\"intervals\": [{\"sum\": {\"start\": 0, \"seconds\": 1}}]}",
                "`sum.bits_per_second`",
            ),
            (
                "{\"error\": \"unable to connect to server\"}",
                "unable to connect",
            ),
        ] {
            let e = analyze(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    /// Issue 24, item 6: a bucket drained (20 s at 4.9 Gbit/s, 30 s at 0.5), left idle 10 s and
    /// burst again: the re-burst's bytes above the baseline over the quiet time are the refill.
    #[test]
    fn a_run_that_idles_between_bursts_gives_the_refill() {
        let mut rates = vec![4.9e9; 20];
        rates.extend(vec![0.5e9; 30]);
        rates.extend(vec![0.0; 10]);
        // 10 s at 0.5 Gbit/s refill 625 MB: 1.14 s at 4.4 Gbit/s above the baseline.
        rates.extend([4.9e9, 0.5e9 + 0.14 * 4.4e9]);
        rates.extend(vec![0.5e9; 8]);
        let a = analyze(&iperf3(&rates)).unwrap();
        let b = a[0].regime.burst_baseline().expect("the drain's bucket");
        assert_eq!(b.baseline_bits_per_sec.median, 0.5e9);
        let r = a[0].refill.as_ref().expect("a refill");
        assert_eq!(r.direction, Direction::ClientToServer);
        assert_eq!(r.rebursts.len(), 1);
        let back = &r.rebursts[0];
        assert_eq!(back.quiet_ns, 10_000_000_000);
        let rate = back.refill_bits_per_sec;
        assert!((rate / 0.5e9 - 1.0).abs() < 0.01, "{rate}");
        // A run without a pause has no refill, and says nothing about one.
        let plain = analyze(&iperf3(&rates[..50])).unwrap();
        assert!(plain[0].refill.is_none());
        // iperf3 -R: the series is what the server sent.
        let mut doc: serde_json::Value = serde_json::from_str(&iperf3(&rates)).unwrap();
        doc["start"]["test_start"]["reverse"] = 1.into();
        let a = analyze(&doc.to_string()).unwrap();
        assert_eq!(
            a[0].refill.as_ref().unwrap().direction,
            Direction::ServerToClient
        );
    }

    #[test]
    fn omitted_intervals_are_left_out() {
        let mut doc: serde_json::Value = serde_json::from_str(&iperf3(&[1e9; 8])).unwrap();
        doc["intervals"][0]["sum"]["omitted"] = true.into();
        let a = analyze(&doc.to_string()).unwrap();
        assert_eq!(a[0].intervals, 7);
    }
}
