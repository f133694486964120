//! `fargate-bench analyze`: the burst/baseline detection over runs people already have, in
//! iperf3's `--json` output (its per-interval `sum`s).

use std::io::Read as _;
use std::path::Path;

use probe_core::regime::{self, DetectorConfig, Regime, Sample};
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
    /// What they hold.
    pub regime: Regime,
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
    let mut out = Vec::new();
    for key in ["sum", "sum_bidir_reverse"] {
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
        out.push(SeriesAnalysis {
            series: key.to_owned(),
            intervals: samples.len(),
            regime: regime::detect(&samples, &DetectorConfig::default()),
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

    #[test]
    fn omitted_intervals_are_left_out() {
        let mut doc: serde_json::Value = serde_json::from_str(&iperf3(&[1e9; 8])).unwrap();
        doc["intervals"][0]["sum"]["omitted"] = true.into();
        let a = analyze(&doc.to_string()).unwrap();
        assert_eq!(a[0].intervals, 7);
    }
}
