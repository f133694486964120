//! The report people look at: one self-contained HTML page (inline CSS and SVG charts, no
//! script, no font or request outside the file; a Content-Security-Policy forbids any), each
//! section a chart above its table, readable on a laptop and printable.

mod chart;
pub(crate) mod compare;
mod cost;
mod generations;
pub(crate) mod history;
mod layout;
mod marks;
mod memory;
mod network;
pub(crate) mod recommend;
pub(crate) mod simulate;

use std::fmt::Write as _;

use self::chart::{Chart, Style};
use super::{Exporter, Tabular};
use crate::summary::Merged;

/// The page, as a format.
#[derive(Debug)]
pub(crate) struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn write(&self, doc: &Merged, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render(doc).as_bytes())
    }
}

/// HTML-escapes text.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:940px;\
margin:1.5em auto;padding:0 1em;color:#1d1d1f;line-height:1.4}h1{font-size:1.6em;margin-bottom:.2em}\
h2{font-size:1.25em;border-bottom:2px solid #0072b2;padding-bottom:.2em;margin-top:2em}\
h3{font-size:1.05em;margin:1.2em 0 .3em}p.why{color:#666;font-style:italic}\
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1em;width:100%}\
th,td{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f3f6f9}\
figure.chart{margin:.5em 0}figure.chart svg{max-width:100%;height:auto}\
.failed{background:#fff4f0;border-left:4px solid #d55e00;padding:.4em .8em;margin:.5em 0}\
pre{font-size:.8em;overflow-x:auto;background:#f7f7f7;padding:.4em}\
.meta{color:#444;font-size:.9em}.runs{overflow-x:auto}.runs td{white-space:nowrap}.facts td{text-align:left}@media print{h2{break-before:auto}figure,table{break-inside:avoid}}";

/// The page of a run's merged document.
pub fn render(doc: &Merged) -> String {
    let summary = &doc.summary;
    let mut body = String::new();
    let run = &summary.run;
    let _ = write!(
        body,
        "<h1>fargate-bench run {}</h1><p class=\"meta\">{} backend &middot; {} items ok, {} failed \
         &middot; started {}{}</p>",
        escape(&run.run_id),
        escape(&run.backend),
        summary.items_ok,
        summary.failures.len(),
        escape(&run.started_at),
        run.finished_at
            .as_ref()
            .map(|f| format!(", finished {}", escape(f)))
            .unwrap_or_default()
    );
    body.push_str(&nav());
    network::throughput_section(&mut body, doc);
    network::latency_section(&mut body, doc);
    memory::memory_bandwidth_section(&mut body, summary);
    memory::memory_latency_section(&mut body, doc);
    cost::cost_section(&mut body, summary);
    generations::generations_section(&mut body, summary);
    failures_section(&mut body, doc);
    context_section(&mut body, doc);
    page(&format!("fargate-bench {}", run.run_id), &body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

fn nav() -> String {
    let sections = [
        ("throughput", "Throughput over time"),
        ("latency", "Latency"),
        ("memory-bandwidth", "Memory bandwidth"),
        ("memory-latency", "Memory latency"),
        ("cost", "Cost efficiency"),
        ("cpu-generations", "CPU generations"),
        ("failures", "Failed items"),
        ("context", "Context"),
    ];
    let links: Vec<String> = sections
        .iter()
        .map(|(id, name)| format!("<a href=\"#{id}\">{name}</a>"))
        .collect();
    format!("<p class=\"meta\">{}</p>", links.join(" &middot; "))
}

fn section(body: &mut String, id: &str, title: &str) {
    let _ = write!(body, "<section id=\"{id}\"><h2>{title}</h2>");
}

fn empty(body: &mut String, why: &str) {
    let _ = write!(body, "<p class=\"why\">{}</p></section>", escape(why));
}

fn figure(body: &mut String, chart: &Chart) {
    figure_styled(body, chart, &Style::default());
}

/// A chart drawn as `style` says (bars, a colour and dash per series).
fn figure_styled(body: &mut String, chart: &Chart, style: &Style) {
    match chart::render(chart, style) {
        Ok(svg) => body.push_str(&svg),
        Err(e) => {
            let _ = write!(
                body,
                "<p class=\"why\">chart {} could not be drawn: {}</p>",
                escape(&chart.title),
                escape(&e)
            );
        }
    }
}

fn table(body: &mut String, head: &[&str], rows: &[Vec<String>]) {
    body.push_str("<table><tr>");
    for h in head {
        let _ = write!(body, "<th>{}</th>", escape(h));
    }
    body.push_str("</tr>");
    for row in rows {
        body.push_str("<tr>");
        for cell in row {
            let _ = write!(body, "<td>{}</td>", escape(cell));
        }
        body.push_str("</tr>");
    }
    body.push_str("</table>");
}

/// Placements small to large, x86 before ARM64 at one size, each once.
fn ordered<T: Ord + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = items.collect();
    out.sort();
    out.dedup();
    out
}

/// A section's table, as every format builds it ([`super::tables`]): people's cells.
fn tabular(body: &mut String, t: &Tabular) {
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.human.clone()).collect())
        .collect();
    table(body, &t.headers, &rows);
}

fn failures_section(body: &mut String, doc: &Merged) {
    section(body, "failures", "Failed items");
    if doc.summary.failures.is_empty() {
        return empty(body, "Every item succeeded.");
    }
    for f in &doc.summary.failures {
        let reason = if f.reason.is_empty() {
            "no reason recorded"
        } else {
            &f.reason
        };
        let _ = write!(
            body,
            "<div class=\"failed\"><strong>{}</strong>: {}",
            escape(&f.id),
            escape(reason)
        );
        if let Some(lines) = doc.failed_output.get(&f.id) {
            let _ = write!(body, "<pre>{}</pre>", escape(&lines.join("\n")));
        }
        body.push_str("</div>");
    }
    body.push_str("</section>");
}

fn context_section(body: &mut String, doc: &Merged) {
    section(body, "context", "Context");
    let summary = &doc.summary;
    let run = &summary.run;
    let mut facts = vec![
        vec!["run id".to_owned(), run.run_id.clone()],
        vec!["backend".to_owned(), run.backend.clone()],
        vec!["controller".to_owned(), run.controller_version.clone()],
        vec![
            "suite".to_owned(),
            format!(
                "{} tests x {} sizes x {} repetitions, concurrency {}",
                run.suite.tests.len(),
                run.suite.sizes.len(),
                run.suite.repetitions,
                run.suite.concurrency
            ),
        ],
    ];
    if let Some(cmd) = &run.command_line {
        facts.push(vec!["command".to_owned(), cmd.clone()]);
    }
    if let Some(p) = &summary.pricing {
        facts.push(vec![
            "prices".to_owned(),
            p.unknown.clone().unwrap_or_else(|| {
                format!(
                    "{} {:?} {:?}, as of {}",
                    p.region, p.arch, p.capacity, p.as_of
                )
            }),
        ]);
    }
    if let Some(d) = &run.prices_as_of {
        facts.push(vec!["estimated with prices of".to_owned(), d.clone()]);
    }
    for e in &summary.emulated {
        facts.push(vec!["emulated".to_owned(), e.clone()]);
    }
    for w in &summary.warnings {
        facts.push(vec!["warning".to_owned(), w.clone()]);
    }
    body.push_str("<div class=\"facts\">");
    table(body, &["", ""], &facts);
    body.push_str("</div>");
    body.push_str("<h3>Hosts of the tasks</h3>");
    let rows: Vec<Vec<String>> = doc
        .hosts
        .iter()
        .map(|h| {
            vec![
                h.placement.to_string(),
                h.role.clone(),
                h.cpu.clone(),
                h.cpu_limit
                    .map_or_else(|| "none".into(), |c| format!("{c:.2} vCPU")),
                h.memory_limit_bytes.map_or_else(
                    || "none".into(),
                    |b| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
                ),
                h.kernel.clone().unwrap_or_default(),
                h.clocksource.clone().unwrap_or_else(|| "-".into()),
                h.hypervisor.clone().unwrap_or_else(|| "-".into()),
                h.zone.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        body,
        &[
            "size",
            "role",
            "CPU",
            "CPU quota",
            "memory limit",
            "kernel",
            "clock source",
            "hypervisor",
            "zone",
        ],
        &rows,
    );
    body.push_str("</section>");
}
