//! `fargate-bench compare A B`: the change of every metric two runs share, and whether their
//! confidence intervals overlap (if they do, the change may be noise).

use std::io::{self, Write};

use probe_core::stats::SampleSummary;
use serde::Serialize;

use crate::merge::Summary;

/// One compared metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What (test, size, direction or kernel).
    pub metric: String,
    /// Median in A.
    pub a: f64,
    /// Median in B.
    pub b: f64,
    /// `(b - a) / a`.
    pub change: f64,
    /// Whether the 95 % intervals overlap (`None` when either has one repetition).
    pub ci_overlap: Option<bool>,
}

fn keyed(s: &Summary) -> Vec<(String, SampleSummary)> {
    let mut out = Vec::new();
    for r in &s.network {
        let dir = r.direction.map(|d| format!(" {d:?}")).unwrap_or_default();
        if let Some(t) = &r.throughput_bits_per_sec {
            out.push((format!("{} {}{dir} bits/s", r.test, r.size), t.clone()));
        }
        if let Some(t) = &r.transactions_per_sec {
            out.push((format!("{} {} transactions/s", r.test, r.size), t.clone()));
        }
    }
    for m in &s.memory_bandwidth {
        out.push((
            format!(
                "{} {} {} x{} bytes/s",
                m.size, m.kernel, m.stores, m.threads
            ),
            m.best_bytes_per_sec.clone(),
        ));
    }
    out
}

/// Metrics present in both summaries.
pub fn compare(a: &Summary, b: &Summary) -> Vec<Change> {
    let bs = keyed(b);
    keyed(a)
        .into_iter()
        .filter_map(|(metric, sa)| {
            let sb = &bs.iter().find(|(m, _)| *m == metric)?.1;
            Some(Change {
                change: if sa.median == 0.0 {
                    0.0
                } else {
                    (sb.median - sa.median) / sa.median
                },
                a: sa.median,
                b: sb.median,
                ci_overlap: sa.ci_overlaps(sb),
                metric,
            })
        })
        .collect()
}

/// Writes the comparison as a table.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_table(changes: &[Change], out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<50} {:>14} {:>14} {:>9}  CIs overlap",
        "metric", "A", "B", "change"
    )?;
    for c in changes {
        let overlap = match c.ci_overlap {
            Some(true) => "yes (may be noise)",
            Some(false) => "no",
            None => "n/a (1 repetition)",
        };
        writeln!(
            out,
            "{:<50} {:>14.4e} {:>14.4e} {:>+8.1}%  {overlap}",
            c.metric,
            c.a,
            c.b,
            c.change * 100.0
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::MemRow;
    use crate::store::{now_rfc3339, RunMeta, RunStatus};

    fn summary(values: &[f64]) -> Summary {
        let s = SampleSummary::from_values(values).unwrap();
        Summary {
            schema_version: 1,
            run: RunMeta {
                run_id: "r".into(),
                backend: "local".into(),
                suite: crate::Suite::default_suite(),
                controller_version: "0".into(),
                started_at: now_rfc3339(),
                status: RunStatus::Complete,
                finished_at: None,
                command_line: None,
            },
            warnings: Vec::new(),
            pricing: None,
            network: vec![],
            memory_bandwidth: vec![MemRow {
                size: "1x2".into(),
                arch: None,
                kernel: "triad".into(),
                stores: "cached".into(),
                threads: 1,
                best_bytes_per_sec: s.clone(),
                sustained_bytes_per_sec: s,
                cost_per_hour: None,
                gb_per_sec_per_dollar_hour: None,
                quota_throttled: false,
            }],
            memory_latency: vec![],
            architectures: vec![],
            emulated: vec![],
            failures: vec![],
            items_ok: 3,
        }
    }

    #[test]
    fn change_and_overlap_per_metric() {
        let a = summary(&[10.0, 11.0, 12.0]);
        let near = summary(&[11.0, 12.0, 13.0]);
        let far = summary(&[20.0, 21.0, 22.0]);
        let c = compare(&a, &near);
        assert_eq!(c.len(), 1);
        assert!((c[0].change - 1.0 / 11.0).abs() < 1e-12);
        assert_eq!(c[0].ci_overlap, Some(true));
        let c = compare(&a, &far);
        assert_eq!(c[0].ci_overlap, Some(false));
        let mut out = Vec::new();
        write_table(&c, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("+90.9%"));
    }
}
