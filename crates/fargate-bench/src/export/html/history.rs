//! The page of `fargate-bench history --format html`: one chart per headline figure with a
//! line per size over the runs, each move past the intervals and each change of CPU or
//! platform version labelled at the run it happened, then the table every format prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::chart::{Chart, Note, Series};
use super::{escape, figure, page, section, table};
use crate::export::history::cell;
use crate::history::{FigureSeries, History};
use crate::summary::Unit;

/// The scale and unit a figure's axis reads best in, from its largest value.
fn axis(unit: Unit, most: f64) -> (f64, &'static str) {
    match unit {
        Unit::BitsPerSec if most >= 1e9 => (1e9, "Gbit/s"),
        Unit::BitsPerSec => (1e6, "Mbit/s"),
        Unit::BytesPerSec => (1e9, "GB/s"),
        Unit::TransactionsPerSec => (1.0, "transactions/s"),
        Unit::Nanoseconds if most >= 1e9 => (1e9, "s"),
        Unit::Nanoseconds if most >= 1e6 => (1e6, "ms"),
        Unit::Nanoseconds => (1e3, "us"),
    }
}

/// `#3 12-03`: the run's number and the month and day it started.
fn run_label(i: usize, started_at: &str) -> String {
    let day = started_at.get(5..10).unwrap_or("");
    format!("#{} {day}", i + 1)
}

/// The chart of one metric over the runs: a line per size.
fn chart(history: &History, metric: &str, lines: &[&FigureSeries]) -> Chart {
    let unit = lines[0].unit;
    let most = lines
        .iter()
        .flat_map(|f| f.points.iter().flatten().map(|p| p.median))
        .fold(0.0, f64::max);
    let (scale, unit_name) = axis(unit, most);
    let mut notes = Vec::new();
    let series = lines
        .iter()
        .map(|f| {
            let at = f.placement.to_string();
            for (i, p) in f.points.iter().enumerate() {
                let Some(p) = p else { continue };
                let xy = (i as f64, p.median / scale);
                if let Some(step) = p.step.as_ref().filter(|s| s.moved()) {
                    let percent = step
                        .ratio
                        .map(|r| format!("{:+.0} %", (r - 1.0) * 100.0))
                        .unwrap_or_default();
                    notes.push(Note {
                        at: xy,
                        text: format!("{at} {percent}"),
                    });
                }
                for c in history
                    .changes
                    .iter()
                    .filter(|c| c.run == i && c.placement == at)
                {
                    notes.push(Note {
                        at: xy,
                        text: format!("{at}: new {}", c.what),
                    });
                }
            }
            Series {
                name: at,
                points: f
                    .points
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| Some((i as f64, p.as_ref()?.median / scale)))
                    .collect(),
                reference: false,
            }
        })
        .collect();
    Chart {
        kind: "history",
        title: metric.to_owned(),
        x_label: "run (number and start date)".into(),
        y_label: format!("median ({unit_name})"),
        x_log: false,
        y_log: false,
        legend_left: true,
        x_ticks: None,
        categories: history
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| run_label(i, &r.started_at))
            .collect(),
        series,
        notes,
        size: "all".into(),
    }
}

/// The page of a history.
pub(crate) fn render(history: &History) -> String {
    let mut body = String::new();
    let (first, last) = (&history.runs[0], &history.runs[history.runs.len() - 1]);
    let _ = write!(
        body,
        "<h1>fargate-bench history: {} runs of one suite</h1><p class=\"meta\">from {} ({}) to \
         {} ({})</p>",
        history.runs.len(),
        escape(&first.started_at),
        escape(&first.run_id),
        escape(&last.started_at),
        escape(&last.run_id)
    );
    section(&mut body, "figures", "Headline figures over the runs");
    body.push_str(
        "<p>Each point is a run's median over its repetitions. A label marks a move past both \
         runs' 95 % intervals (a move inside them is noise) and a run whose tasks at a size ran \
         on another CPU or platform version than the run before.</p>",
    );
    let mut by_metric: BTreeMap<&str, Vec<&FigureSeries>> = BTreeMap::new();
    let mut order = Vec::new();
    for f in &history.figures {
        let lines = by_metric.entry(f.metric.as_str()).or_default();
        if lines.is_empty() {
            order.push(f.metric.as_str());
        }
        lines.push(f);
    }
    for metric in order {
        figure(&mut body, &chart(history, metric, &by_metric[metric]));
    }
    let mut head = vec!["figure".to_owned()];
    head.extend((0..history.runs.len()).map(|i| run_label(i, &history.runs[i].started_at)));
    let rows: Vec<Vec<String>> = history
        .figures
        .iter()
        .map(|f| {
            let mut row = vec![format!("{} at {}", f.metric, f.placement)];
            row.extend(f.points.iter().map(|p| cell(f, p.as_ref())));
            row
        })
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    // A column per run: cells stay on one line, and the table scrolls when the runs are many.
    body.push_str("<div class=\"runs\">");
    table(&mut body, &head, &rows);
    body.push_str("</div>");
    body.push_str(
        "<p class=\"why\">v / ^: fell / rose past both runs' intervals; -: not in that run</p>\
         </section>",
    );
    section(&mut body, "conditions", "Conditions under each size");
    if history.changes.is_empty() {
        body.push_str(
            "<p>The same CPU models and platform versions under every size throughout.</p>",
        );
    } else {
        body.push_str("<ul>");
        for c in &history.changes {
            let _ = write!(body, "<li>{}</li>", escape(&c.words()));
        }
        body.push_str("</ul>");
    }
    let rows: Vec<Vec<String>> = history
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let join = |m: &BTreeMap<String, std::collections::BTreeSet<String>>| {
                m.iter()
                    .map(|(at, v)| {
                        format!(
                            "{at}: {}",
                            v.iter().cloned().collect::<Vec<_>>().join(" + ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            vec![
                format!("#{}", i + 1),
                r.run_id.clone(),
                r.started_at.clone(),
                r.backend.clone(),
                join(&r.cpus),
                join(&r.platform_versions),
            ]
        })
        .collect();
    table(
        &mut body,
        &["run", "id", "started", "backend", "CPU", "platform version"],
        &rows,
    );
    body.push_str("</section>");
    page("fargate-bench history", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::nightly;

    #[test]
    fn the_page_charts_each_figure_by_size_and_labels_the_fall_and_the_new_cpu() {
        let h = crate::history::history(&nightly()).unwrap();
        let page = render(&h);
        assert!(page.contains("<h1>fargate-bench history: 3 runs of one suite</h1>"));
        assert!(
            page.contains("tcp-stream client-&gt;server baseline"),
            "a chart per metric"
        );
        assert!(page.contains("1x2 -33 %"), "the fall is labelled");
        assert!(page.contains("1x2: new CPU"), "the CPU change is labelled");
        assert!(
            page.contains("#3 12-03"),
            "runs are named by number and date"
        );
        assert!(
            page.contains("1x2: CPU Intel Xeon Platinum 8375C -&gt; AMD EPYC 7R13 (from run #3)")
        );
        assert!(!page.contains("could not be drawn"), "every chart drew");
    }
}
