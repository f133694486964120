//! The cost section: what a dollar-hour buys at each size, network and memory.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::chart::{Chart, Series, Style};
use super::{empty, escape, figure_styled, ordered, section, tabular};
use crate::export::tables;
use crate::summary::{Placement, Summary, HEADLINE_KERNEL};

pub(super) fn cost_section(body: &mut String, summary: &Summary) {
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
    // What the whole task buys: the headline kernel with the most threads measured at each
    // size (a second point per size, one thread's, drew the line up and down).
    let mut most: BTreeMap<Placement, u32> = BTreeMap::new();
    for r in &summary.memory_bandwidth {
        let m = most.entry(r.size).or_default();
        *m = (*m).max(r.threads);
    }
    let mut mem: BTreeMap<String, Vec<(crate::TaskSize, f64)>> = BTreeMap::new();
    for r in summary
        .memory_bandwidth
        .iter()
        .filter(|r| r.kernel == HEADLINE_KERNEL && r.threads == most[&r.size])
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
        ("memory (most threads)", mem, "GB/s per USD-hour"),
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
        // One size: a bar per figure (a line needs two sizes); several: a line across them.
        let style = Style {
            bars: sizes.len() == 1,
            lanes: Vec::new(),
        };
        figure_styled(
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
            &style,
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
