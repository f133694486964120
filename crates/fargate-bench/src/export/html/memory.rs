//! The memory sections: bandwidth per kernel (bars at one size, a line per kernel across
//! several), and the latency curve by working set with the cache plateaus labelled.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use probe_core::units::format_ns;

use super::chart::{Chart, Lane, Note, Series, Style};
use super::{empty, escape, figure, figure_styled, ordered, section, tabular};
use crate::export::tables;
use crate::summary::{MemRow, Merged, Placement, Summary};

/// STREAM's kernels in STREAM's order, then memprobe's own; a kernel not named here follows.
const KERNELS: [&str; 7] = ["copy", "scale", "add", "triad", "read", "write", "memcpy"];

fn kernel_rank(kernel: &str) -> usize {
    KERNELS
        .iter()
        .position(|k| *k == kernel)
        .unwrap_or(KERNELS.len())
}

fn nontemporal(r: &MemRow) -> bool {
    r.stores == "nontemporal"
}

/// A kernel's name in a legend, with its stores when they are not the usual cached ones.
fn kernel_name(kernel: &str, nontemporal: bool) -> String {
    if nontemporal {
        format!("{kernel}, non-temporal stores")
    } else {
        kernel.to_owned()
    }
}

fn threads_name(threads: u32) -> String {
    if threads == 1 {
        "1 thread".into()
    } else {
        format!("{threads} threads")
    }
}

/// The fewest and the most threads measured at each placement (memprobe measures 1 and one
/// per vCPU; a sweep's counts between them are in the table).
fn thread_span(rows: &[MemRow]) -> BTreeMap<Placement, (u32, u32)> {
    let mut span: BTreeMap<Placement, (u32, u32)> = BTreeMap::new();
    for r in rows {
        let e = span.entry(r.size).or_insert((r.threads, r.threads));
        e.0 = e.0.min(r.threads);
        e.1 = e.1.max(r.threads);
    }
    span
}

fn gbps(r: &MemRow) -> f64 {
    r.best_bytes_per_sec.median / 1e9
}

pub(super) fn memory_bandwidth_section(body: &mut String, summary: &Summary) {
    section(body, "memory-bandwidth", "Memory bandwidth");
    let rows = &summary.memory_bandwidth;
    if rows.is_empty() {
        return empty(body, "No memory test in this run: no bandwidth to plot.");
    }
    let sizes = ordered(rows.iter().map(|r| r.size));
    let span = thread_span(rows);
    if let [size] = sizes[..] {
        body.push_str(
            "<p>Best pass of each kernel (STREAM accounting), median over repetitions: a bar per \
             thread count and store kind. Every figure, with its interval, is in the table.</p>",
        );
        bandwidth_bars(body, rows, size, span[&size]);
    } else {
        body.push_str(
            "<p>Best pass of each kernel (STREAM accounting), median over repetitions, across \
             the sizes: one chart with a single thread, one with the most threads measured at \
             each size (one per vCPU); dashed lines are non-temporal stores. Every thread count \
             is in the table.</p>",
        );
        let most_differs = span.values().any(|(few, most)| few != most);
        let fewest_is_one = span.values().all(|(few, _)| *few == 1);
        let mut charts = vec![(
            if fewest_is_one {
                "with 1 thread"
            } else {
                "with the fewest threads measured"
            },
            false,
        )];
        if most_differs {
            charts.push(("with a thread per vCPU (the most measured)", true));
        }
        for (what, most) in charts {
            bandwidth_lines(body, rows, &sizes, &span, what, most);
        }
    }
    tabular(body, &tables::memory_bandwidth(summary));
    body.push_str("</section>");
}

/// One size: categories are the kernels, a bar per (thread count, stores).
fn bandwidth_bars(body: &mut String, rows: &[MemRow], size: Placement, span: (u32, u32)) {
    let mut kernels: Vec<&str> = rows.iter().map(|r| r.kernel.as_str()).collect();
    kernels.sort_by_key(|k| (kernel_rank(k), *k));
    kernels.dedup();
    let mut variants = vec![(span.0, false), (span.0, true)];
    if span.1 != span.0 {
        variants.extend([(span.1, false), (span.1, true)]);
    }
    let mut series = Vec::new();
    let mut lanes = Vec::new();
    for (n, (threads, nt)) in variants.into_iter().enumerate() {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.threads == threads && nontemporal(r) == nt)
            .filter_map(|r| {
                let k = kernels.iter().position(|k| *k == r.kernel)?;
                Some((k as f64, gbps(r)))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let name = if nt {
            format!("{}, non-temporal stores", threads_name(threads))
        } else {
            threads_name(threads)
        };
        series.push(Series {
            name,
            points,
            reference: false,
        });
        // Blue and sky blue for the fewest threads, vermilion and orange for the most.
        lanes.push(Lane {
            color: [0, 4, 1, 5][n],
            dashed: false,
        });
    }
    figure_styled(
        body,
        &Chart {
            kind: "memory-bandwidth",
            title: format!(
                "Memory bandwidth by kernel at {size} (best pass, median over repetitions)"
            ),
            x_label: "kernel".into(),
            y_label: "bandwidth (GB/s)".into(),
            x_log: false,
            y_log: false,
            legend_left: true,
            x_ticks: None,
            categories: kernels.iter().map(|k| (*k).to_owned()).collect(),
            series,
            notes: Vec::new(),
            size: size.to_string(),
        },
        &Style { bars: true, lanes },
    );
}

/// Several sizes: a line per (kernel, stores) across the sizes, coloured by kernel, dashed for
/// non-temporal stores; `most` picks the row with the most threads at each size, else the fewest.
fn bandwidth_lines(
    body: &mut String,
    rows: &[MemRow],
    sizes: &[Placement],
    span: &BTreeMap<Placement, (u32, u32)>,
    what: &str,
    most: bool,
) {
    let mut lanes: BTreeMap<(usize, String, bool), Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows {
        let (few, many) = span[&r.size];
        if r.threads != if most { many } else { few } {
            continue;
        }
        let x = sizes.iter().position(|s| *s == r.size).unwrap_or(0) as f64;
        lanes
            .entry((kernel_rank(&r.kernel), r.kernel.clone(), nontemporal(r)))
            .or_default()
            .push((x, gbps(r)));
    }
    // A colour per kernel (its place in STREAM's order; any other kernel the eighth colour).
    let mut style = Style::default();
    let series = lanes
        .into_iter()
        .map(|((rank, kernel, nt), mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            style.lanes.push(Lane {
                color: rank,
                dashed: nt,
            });
            Series {
                name: kernel_name(&kernel, nt),
                points,
                reference: false,
            }
        })
        .collect();
    figure_styled(
        body,
        &Chart {
            kind: "memory-bandwidth",
            title: format!("Memory bandwidth {what}, by kernel and size"),
            x_label: "task size (vCPU x GB)".into(),
            y_label: "bandwidth (GB/s, best pass)".into(),
            x_log: false,
            y_log: false,
            legend_left: true,
            x_ticks: None,
            categories: sizes.iter().map(ToString::to_string).collect(),
            series,
            notes: Vec::new(),
            size: "all".into(),
        },
        &style,
    );
}

pub(super) fn memory_latency_section(body: &mut String, doc: &Merged) {
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
    // The cache plateaus the probe detected, at the largest size only (every size's curve is
    // drawn, their levels would repeat), each labelled where it ends.
    let labelled = lanes.keys().next_back().copied();
    let notes: Vec<Note> = doc
        .plateaus
        .iter()
        .filter(|p| Some(p.placement) == labelled)
        .map(|plateau| Note {
            at: (plateau.up_to_bytes as f64, plateau.ns_per_load),
            text: format!("{} {}", plateau.level, format_ns(plateau.ns_per_load)),
        })
        .collect();
    let _ = write!(
        body,
        "<p>Time per dependent load as the working set grows (median over repetitions, both \
         axes logarithmic).{}</p>",
        match labelled {
            Some(size) if !notes.is_empty() => format!(
                " Rings mark where each cache level the probe detected at {} ends, labelled \
                 with its typical latency.",
                escape(&size.to_string())
            ),
            _ => String::new(),
        }
    );
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
