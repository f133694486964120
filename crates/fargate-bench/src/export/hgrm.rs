//! HdrHistogram's percentile distribution text (`.hgrm`), the format HdrHistogram's plotter and
//! `HistogramLogProcessor` read: one row per percentile step, values in microseconds.

use std::fmt::Write as _;
use std::io;

use probe_core::histogram::LatencyHistogram;

use super::Exporter;
use crate::summary::Merged;

/// Every merged round-trip histogram of a run, each under a `#` line naming test and size.
#[derive(Debug)]
pub(crate) struct HgrmExporter;

impl Exporter for HgrmExporter {
    fn write(&self, doc: &Merged, out: &mut dyn io::Write) -> io::Result<()> {
        if doc.latency.is_empty() {
            return Err(io::Error::other(
                "no latency histogram in this run (no tcp-rr, udp-rr or tcp-crr test)",
            ));
        }
        for m in &doc.latency {
            let (label, size) = (&m.test, m.placement);
            writeln!(out, "# {label} at {size}: round trips, microseconds")?;
            out.write_all(percentile_distribution(&m.rtt).as_bytes())?;
            if let Some(raw) = &m.uncorrected {
                writeln!(
                    out,
                    "\n# {label} at {size}: raw (uncorrected), microseconds"
                )?;
                out.write_all(percentile_distribution(raw).as_bytes())?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Percentile steps per halving of the distance to 100 %, as HdrHistogram's own output uses.
pub const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Nanoseconds per output unit: values are written in microseconds.
pub const VALUE_SCALE: f64 = 1_000.0;

/// One row of the distribution: a percentile step and the value that reaches it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Highest value equivalent to the bucket that reaches the step (ns).
    pub value_ns: u64,
    /// The step, 0..=1.
    pub quantile: f64,
    /// Values at or below `value_ns`.
    pub total_count: u64,
}

/// The percentile steps of `h` exactly as HdrHistogram's Java `PercentileIterator` (and its
/// ports, such as Python's `hdrh`) walks them: steps get finer by `ticks` per halving of the
/// distance to 100 %, a bucket that reaches several steps is reported at each, and a last row
/// at 100 % gives the maximum. (The Rust crate's `iter_quantiles` skips repeated buckets, so its
/// rows differ from what HdrHistogram's tools print; this follows the tools.)
pub fn steps(h: &LatencyHistogram, ticks: u32) -> Vec<Step> {
    let hdr = h.as_hdr();
    let total = hdr.len();
    let mut out = Vec::new();
    if total == 0 {
        return out;
    }
    let (mut level, mut cum, mut last) = (0.0_f64, 0u64, 0u64);
    for v in hdr.iter_recorded() {
        cum += v.count_at_value();
        last = v.value_iterated_to();
        loop {
            if 100.0 * cum as f64 / (total as f64) < level {
                break;
            }
            out.push(Step {
                value_ns: last,
                quantile: level / 100.0,
                total_count: cum,
            });
            let halvings = ((100.0 / (100.0 - level)).ln() / 2f64.ln()) as i32;
            let reporting_ticks = f64::from(ticks) * 2f64.powi(halvings + 1);
            level += 100.0 / reporting_ticks;
            if cum == total {
                break; // the last bucket: one row at its level, then the 100 % row
            }
        }
    }
    out.push(Step {
        value_ns: last,
        quantile: 1.0,
        total_count: total,
    });
    out
}

/// The `.hgrm` text of `h` (values in microseconds), with the header and footer that
/// HdrHistogram's `outputPercentileDistribution` writes.
pub fn percentile_distribution(h: &LatencyHistogram) -> String {
    let hdr = h.as_hdr();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    for step in steps(h, TICKS_PER_HALF_DISTANCE) {
        let value = step.value_ns as f64 / VALUE_SCALE;
        let (q, total) = (step.quantile, step.total_count);
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:>12.3} {q:>2.12} {total:>10} {:>14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:>12.3} {q:>2.12} {total:>10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        hdr.mean() / VALUE_SCALE,
        hdr.stdev() / VALUE_SCALE
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        hdr.max() as f64 / VALUE_SCALE,
        hdr.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        hdr.buckets(),
        hdr.distinct_values()
    );
    out
}

/// Rows `(value_us, quantile)` of a `.hgrm` text (for tests and tools that read it back).
pub fn parse_rows(text: &str) -> Vec<(f64, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_climb_to_the_maximum() {
        let mut h = LatencyHistogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1_000); // 1 us .. 10 ms
        }
        let text = percentile_distribution(&h);
        let rows = parse_rows(&text);
        assert!(rows.len() > 50, "{text}");
        assert!(rows
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        let (max, q) = *rows.last().unwrap();
        assert_eq!(q, 1.0);
        assert!((max - 10_000.0).abs() / 10_000.0 < 0.001, "{max}");
        let median = rows.iter().find(|r| r.1 >= 0.5).unwrap().0;
        assert!((median - 5_000.0).abs() / 5_000.0 < 0.01, "{median}");
        assert!(text.contains("#[Max") && text.contains("Total count    =        10000"));
    }
}
