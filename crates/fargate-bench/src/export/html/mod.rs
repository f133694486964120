//! The report people look at: one self-contained HTML page (inline CSS and SVG charts, no
//! script, no font or request outside the file; a Content-Security-Policy forbids any), each
//! section a chart above its table, readable on a laptop and printable.

mod chart;
pub(crate) mod compare;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use probe_core::report::Direction;
use probe_core::units::{format_bits_per_sec, format_ns};
use probe_core::LatencyHistogram;

use self::chart::{Chart, Note, Series};
use super::{tables, Exporter, Tabular};
use crate::summary::{Merged, Placement, Summary, HEADLINE_KERNEL};

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
.meta{color:#444;font-size:.9em}.facts td{text-align:left}@media print{h2{break-before:auto}figure,table{break-inside:avoid}}";

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
    throughput_section(&mut body, doc);
    latency_section(&mut body, doc);
    memory_bandwidth_section(&mut body, summary);
    memory_latency_section(&mut body, doc);
    cost_section(&mut body, summary);
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
    match chart::render(chart) {
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

/// A section's table, as every format builds it ([`super::tables`]): people's cells.
fn tabular(body: &mut String, t: &Tabular) {
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.human.clone()).collect())
        .collect();
    table(body, &t.headers, &rows);
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::ServerToClient => "server to client",
        Direction::ClientToServer => "client to server",
    }
}

fn throughput_section(body: &mut String, doc: &Merged) {
    section(body, "throughput", "Throughput over time");
    let rows = tables::throughput(&doc.summary);
    if doc.series.is_empty() && rows.rows.is_empty() {
        return empty(
            body,
            "No bulk network test in this run (tcp-stream or udp-stream), or none recorded \
             interval samples: nothing to plot over time.",
        );
    }
    body.push_str(if doc.series.is_empty() {
        "<p class=\"why\">No repetition recorded interval samples: nothing to plot over time.</p>"
    } else {
        "<p>Every repetition's interval samples on one time axis per size and direction. Dashed: \
         the detected burst and baseline (medians over repetitions).</p>"
    });
    // Each test's charts by size, x86 before ARM64 at one size (the series' own order).
    for lane in &doc.series {
        let mut series = Vec::new();
        let mut end = 0.0_f64;
        for (rep, samples) in &lane.repetitions {
            let points: Vec<(f64, f64)> = samples
                .iter()
                .map(|i| {
                    let mid = (i.start_ns as f64 + i.duration_ns as f64 / 2.0) / 1e9;
                    end = end.max((i.start_ns + i.duration_ns) as f64 / 1e9);
                    (mid, i.bits_per_sec / 1e9)
                })
                .collect();
            series.push(Series {
                name: format!("repetition {rep}"),
                points,
                reference: false,
            });
        }
        let row = doc
            .summary
            .network_row(&lane.test, lane.placement, Some(lane.direction));
        if let Some(bucket) = row.and_then(|r| r.bucket.as_ref()) {
            for (name, value) in [
                ("burst", bucket.burst_bits_per_sec.median),
                ("baseline", bucket.baseline_bits_per_sec.median),
            ] {
                series.push(Series {
                    name: format!("{name} {}", format_bits_per_sec(value)),
                    points: vec![(0.0, value / 1e9), (end, value / 1e9)],
                    reference: true,
                });
            }
        }
        figure(
            body,
            &Chart {
                kind: "throughput",
                title: format!(
                    "{} at {}, {}",
                    lane.test,
                    lane.placement,
                    direction_words(lane.direction)
                ),
                x_label: "time since the test started (s)".into(),
                y_label: "throughput (Gbit/s)".into(),
                x_log: false,
                y_log: false,
                legend_left: false,
                x_ticks: None,
                categories: Vec::new(),
                series,
                notes: Vec::new(),
                size: lane.placement.to_string(),
            },
        );
    }
    tabular(body, &rows);
    let buckets = tables::buckets(&doc.summary);
    if !buckets.rows.is_empty() {
        tabular(body, &buckets);
    }
    body.push_str("</section>");
}

/// "Number of nines" of a quantile: 0.9 -> 1, 0.99 -> 2.
fn nines(q: f64) -> f64 {
    -(1.0 - q.min(0.999_999_9)).log10()
}

fn percent_label(nines: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-nines));
    let text = format!("{p:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// The percentile curve of a histogram: (nines, microseconds).
fn curve(h: &LatencyHistogram) -> Vec<(f64, f64)> {
    super::hgrm::steps(h, super::hgrm::TICKS_PER_HALF_DISTANCE)
        .into_iter()
        .map(|s| (nines(s.quantile), s.value_ns as f64 / 1e3))
        .collect()
}

fn latency_section(body: &mut String, doc: &Merged) {
    section(body, "latency", "Latency");
    if doc.latency.is_empty() {
        return empty(
            body,
            "No request/response test in this run (tcp-rr, udp-rr, tcp-crr): no latency \
             distribution to plot.",
        );
    }
    body.push_str(
        "<p>Percentile distribution of every round trip of every repetition (merged \
         histograms, never averaged), on HdrHistogram's axis: each step right is one more \
         nine. Open-loop runs show the corrected curve and the raw one.</p>",
    );
    let mut by_size: BTreeMap<Placement, Vec<Series>> = BTreeMap::new();
    for m in &doc.latency {
        let lanes = by_size.entry(m.placement).or_default();
        lanes.push(Series {
            name: m.test.clone(),
            points: curve(&m.rtt),
            reference: false,
        });
        if let Some(raw) = &m.uncorrected {
            lanes.push(Series {
                name: format!("{} (raw, uncorrected)", m.test),
                points: curve(raw),
                reference: true,
            });
        }
    }
    for (size, series) in by_size {
        figure(
            body,
            &Chart {
                kind: "latency",
                title: format!("Round-trip latency at {size}"),
                x_label: "percentile".into(),
                y_label: "round trip (µs, log scale)".into(),
                x_log: false,
                y_log: true,
                legend_left: true,
                x_ticks: Some(percent_label),
                categories: Vec::new(),
                series,
                notes: Vec::new(),
                size: size.to_string(),
            },
        );
    }
    tabular(body, &tables::round_trips(&doc.summary));
    body.push_str("</section>");
}

/// Placements small to large, x86 before ARM64 at one size, each once.
fn ordered<T: Ord + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = items.collect();
    out.sort();
    out.dedup();
    out
}

fn memory_bandwidth_section(body: &mut String, summary: &Summary) {
    section(body, "memory-bandwidth", "Memory bandwidth");
    if summary.memory_bandwidth.is_empty() {
        return empty(body, "No memory test in this run: no bandwidth to plot.");
    }
    let sizes = ordered(summary.memory_bandwidth.iter().map(|r| r.size));
    let mut lanes: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &summary.memory_bandwidth {
        let x = sizes.iter().position(|s| *s == r.size).unwrap_or(0) as f64;
        let name = if r.threads > 1 {
            format!("{} {} x{}", r.kernel, r.stores, r.threads)
        } else {
            format!("{} {}", r.kernel, r.stores)
        };
        lanes
            .entry(name)
            .or_default()
            .push((x, r.best_bytes_per_sec.median / 1e9));
    }
    let series = lanes
        .into_iter()
        .map(|(name, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name,
                points,
                reference: false,
            }
        })
        .collect();
    figure(
        body,
        &Chart {
            kind: "memory-bandwidth",
            title: "Memory bandwidth by kernel and size (best pass, median over repetitions)"
                .into(),
            x_label: "task size (vCPU x GB)".into(),
            y_label: "bandwidth (GB/s)".into(),
            x_log: false,
            y_log: false,
            legend_left: false,
            x_ticks: None,
            categories: sizes.iter().map(ToString::to_string).collect(),
            series,
            notes: Vec::new(),
            size: "all".into(),
        },
    );
    tabular(body, &tables::memory_bandwidth(summary));
    body.push_str("</section>");
}

fn memory_latency_section(body: &mut String, doc: &Merged) {
    section(body, "memory-latency", "Memory latency");
    let summary = &doc.summary;
    if summary.memory_latency.is_empty() {
        return empty(
            body,
            "No memory latency curve in this run (memory tests ran with no_latency, or none ran).",
        );
    }
    let mut lanes: BTreeMap<Placement, Vec<(f64, f64)>> = BTreeMap::new();
    for p in summary.memory_latency.iter().filter(|p| !p.huge_pages) {
        lanes
            .entry(p.size)
            .or_default()
            .push((p.working_set_bytes as f64, p.ns_per_load.median));
    }
    // Cache plateaus the probes detected, labelled where they end: for the largest size only,
    // so labels do not pile up (the table of every size is the summary's).
    let labelled = lanes.keys().next_back().copied();
    let notes = doc
        .plateaus
        .iter()
        .filter(|p| Some(p.placement) == labelled)
        .map(|plateau| Note {
            // Left of where the plateau ends, so the last label stays inside.
            at: (plateau.up_to_bytes as f64 / 2.5, plateau.ns_per_load),
            text: format!("{} {}", plateau.level, format_ns(plateau.ns_per_load)),
        })
        .collect();
    let series = lanes
        .into_iter()
        .map(|(size, points)| Series {
            name: size.to_string(),
            points,
            reference: false,
        })
        .collect();
    figure(
        body,
        &Chart {
            kind: "memory-latency",
            title: "Load-to-load latency by working set (pointer chase)".into(),
            x_label: "working set (bytes, log scale)".into(),
            y_label: "latency per load (ns, log scale)".into(),
            x_log: true,
            y_log: true,
            legend_left: true,
            x_ticks: None,
            categories: Vec::new(),
            series,
            notes,
            size: "all".into(),
        },
    );
    body.push_str("</section>");
}

fn cost_section(body: &mut String, summary: &Summary) {
    section(body, "cost", "Cost efficiency");
    let Some(pricing) = &summary.pricing else {
        return empty(body, "No prices were applied to this report.");
    };
    if let Some(why) = &pricing.unknown {
        return empty(body, why);
    }
    let mut net: BTreeMap<String, Vec<(crate::TaskSize, f64)>> = BTreeMap::new();
    for r in &summary.network {
        if let Some(v) = r.gbit_per_sec_per_dollar_hour {
            let name = match r.headline().map(|h| h.kind) {
                Some(crate::summary::FigureKind::Baseline) => format!("{} baseline", r.test),
                _ => r.test.clone(),
            };
            let (name, size) = lane(name, r.size);
            net.entry(name).or_default().push((size, v));
        }
        if let Some(v) = r
            .bucket
            .as_ref()
            .and_then(|b| b.burst_gbit_per_sec_per_dollar_hour)
        {
            let (name, size) = lane(format!("{} burst", r.test), r.size);
            net.entry(name).or_default().push((size, v));
        }
    }
    let mut mem: BTreeMap<String, Vec<(crate::TaskSize, f64)>> = BTreeMap::new();
    for r in summary
        .memory_bandwidth
        .iter()
        .filter(|r| r.kernel == HEADLINE_KERNEL)
    {
        if let Some(v) = r.gb_per_sec_per_dollar_hour {
            let (name, size) = lane(format!("{HEADLINE_KERNEL} {}", r.stores), r.size);
            mem.entry(name).or_default().push((size, v));
        }
    }
    if net.is_empty() && mem.is_empty() {
        return empty(
            body,
            "No throughput or bandwidth figure to price in this run.",
        );
    }
    for (kind, lanes, unit) in [
        ("network", net, "Gbit/s per USD-hour"),
        ("memory", mem, "GB/s per USD-hour"),
    ] {
        if lanes.is_empty() {
            continue;
        }
        let sizes = ordered(lanes.values().flatten().map(|(s, _)| *s));
        let series = lanes
            .into_iter()
            .map(|(name, values)| {
                let mut points: Vec<(f64, f64)> = values
                    .iter()
                    .map(|(s, v)| (sizes.iter().position(|x| x == s).unwrap_or(0) as f64, *v))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    name,
                    points,
                    reference: false,
                }
            })
            .collect();
        figure(
            body,
            &Chart {
                kind: "cost",
                title: format!("{kind}: what a dollar-hour buys, by size"),
                x_label: "task size (vCPU x GB)".into(),
                y_label: unit.into(),
                x_log: false,
                y_log: false,
                legend_left: false,
                x_ticks: None,
                categories: sizes.iter().map(ToString::to_string).collect(),
                series,
                notes: Vec::new(),
                size: "all".into(),
            },
        );
    }
    if !summary.architectures.is_empty() {
        body.push_str("<h3>Graviton or x86, at this size</h3>");
        tabular(body, &tables::architectures(summary));
    }
    let arch = if summary.architectures.is_empty() {
        pricing.arch.ecs_name()
    } else {
        "X86_64 and ARM64"
    };
    let _ = write!(
        body,
        "<p class=\"meta\">Prices: {} {arch} {}, as of {}.</p></section>",
        escape(&pricing.region),
        pricing.capacity.provider(),
        escape(&pricing.as_of)
    );
}

/// A cost chart's lane and category for a row: in a run over both architectures each
/// architecture is its own line across the sizes (`tcp-stream ARM64` at `1x2`).
fn lane(name: String, placement: Placement) -> (String, crate::TaskSize) {
    match placement.arch {
        Some(arch) => (format!("{name} {arch}"), placement.size),
        None => (name, placement.size),
    }
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
            "zone",
        ],
        &rows,
    );
    body.push_str("</section>");
}

/// The page of a comparison: every headline A and B share, with the change, its interval and
/// the verdict, and B relative to A per metric.
pub fn render_compare(a: &Summary, b: &Summary, changes: &[crate::compare::Change]) -> String {
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
