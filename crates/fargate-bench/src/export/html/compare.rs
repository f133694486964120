//! The page of `fargate-bench compare A B --format html`: B relative to A per metric, and the
//! table of changes with their intervals and verdicts.

use std::fmt::Write as _;

use super::chart::{Chart, Series};
use super::{escape, figure, page, section, table};
use crate::compare::Change;
use crate::summary::Summary;

/// The page of a comparison: every headline A and B share, with the change, its interval and
/// the verdict, and B relative to A per metric.
pub(crate) fn render(a: &Summary, b: &Summary, changes: &[Change]) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>fargate-bench: {} (A) against {} (B)</h1>",
        escape(&a.run.run_id),
        escape(&b.run.run_id)
    );
    section(&mut body, "compare", "A and B");
    let metrics: Vec<String> = (1..=changes.len()).map(|i| format!("#{i}")).collect();
    let series = vec![
        Series {
            name: format!("A {}", a.run.run_id),
            points: (0..changes.len()).map(|i| (i as f64, 100.0)).collect(),
            reference: true,
        },
        Series {
            name: format!("B {}", b.run.run_id),
            points: changes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((i as f64, 100.0 * c.ratio?)))
                .collect(),
            reference: false,
        },
    ];
    figure(
        &mut body,
        &Chart {
            kind: "compare",
            title: "B relative to A (A = 100 %), by metric number in the table".into(),
            x_label: "metric (#, see the table)".into(),
            y_label: "B as % of A".into(),
            x_log: false,
            y_log: false,
            legend_left: false,
            x_ticks: None,
            categories: metrics,
            series,
            notes: Vec::new(),
            size: "all".into(),
        },
    );
    let rows: Vec<Vec<String>> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                format!("#{} {}", i + 1, c.metric),
                c.unit.format(c.a),
                c.unit.format(c.b),
                c.percent(),
                c.interval(),
                c.verdict.words(),
            ]
        })
        .collect();
    table(
        &mut body,
        &[
            "metric",
            "A",
            "B",
            "change",
            "interval of the change",
            "verdict",
        ],
        &rows,
    );
    body.push_str("</section>");
    page("fargate-bench comparison", &body)
}
