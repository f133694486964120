//! The CPU generation sections of a report: the share of each generation per size,
//! architecture and capacity provider, and, where a size's items ran on more than one, each
//! headline figure per generation with its item and task counts. Every format renders them as
//! it renders the other sections ([`super::tables`]); the JSON carries
//! [`Summary::cpu_generations`] and [`Summary::by_generation`] as they are.

use probe_core::units::format_bytes_per_sec;

use super::tables::{spread, Cell, Tabular};
use crate::store::RunMeta;
use crate::summary::{FigureKind, Summary};

/// The capacity provider a run's tasks ran on, as the share table names it.
pub(crate) fn capacity_name(run: &RunMeta) -> String {
    match (run.capacity, &run.suite.ecs) {
        (Some(c), _) => c.provider().to_owned(),
        (None, Some(ecs)) if run.backend == "ecs" => ecs.capacity_provider.clone(),
        (None, _) if run.backend == "ecs" => "FARGATE".to_owned(),
        (None, _) => format!("none ({} backend)", run.backend),
    }
}

/// The architecture of a placement: its own in a run that crosses them, else the run's.
fn architecture(s: &Summary, placement: crate::summary::Placement) -> String {
    if let Some(a) = placement.arch {
        return a.ecs_name().to_owned();
    }
    match (&s.run.suite.ecs, s.run.suite.architectures.as_slice()) {
        (_, [one]) => one.ecs_name().to_owned(),
        (Some(ecs), _) if s.run.backend == "ecs" => ecs.cpu_architecture.clone(),
        _ => "this machine's".to_owned(),
    }
}

/// The share of each CPU generation among each placement's tasks.
pub(crate) fn shares(s: &Summary) -> Tabular {
    let capacity = capacity_name(&s.run);
    let rows = s
        .cpu_generations
        .iter()
        .map(|g| {
            vec![
                Cell::text(g.size.size.to_string()),
                Cell::text(architecture(s, g.size)),
                Cell::text(&capacity),
                Cell::text(&g.generation),
                Cell::num(g.tasks.to_string(), g.tasks as f64),
                Cell::num(format!("{:.0} %", g.share * 100.0), g.share),
            ]
        })
        .collect();
    Tabular {
        title: "CPU generations (the share of each size's tasks that ran on each)",
        headers: vec![
            "size",
            "architecture",
            "capacity",
            "CPU generation",
            "tasks",
            "share",
        ],
        rows,
        wide_only: &[],
    }
}

/// Each headline figure per generation, at the placements whose items ran on more than one.
pub(crate) fn figures(s: &Summary) -> Tabular {
    let mut rows = Vec::new();
    for g in &s.by_generation {
        let lead = |what: String| {
            vec![
                Cell::text(g.size.to_string()),
                Cell::text(&g.generation),
                Cell::num(format!("{} ({} tasks)", g.items, g.tasks), g.items as f64),
                Cell::text(what),
            ]
        };
        for r in &g.network {
            let Some(h) = r.headline() else { continue };
            let mut cell = spread(h.value, |v| h.unit.format(v));
            if h.kind == FigureKind::Baseline {
                cell = cell.prefixed("baseline ");
            }
            let mut row = lead(r.what());
            row.push(cell);
            rows.push(row);
        }
        for r in &g.memory_bandwidth {
            let h = r.headline();
            let mut row = lead(format!("{} {}", r.what(), h.kind.name()));
            row.push(spread(h.value, format_bytes_per_sec));
            rows.push(row);
        }
    }
    Tabular {
        title: "By CPU generation (sizes whose items ran on more than one: each figure over \
                that generation's items alone)",
        headers: vec![
            "size",
            "CPU generation",
            "items",
            "figure",
            "median over them",
        ],
        rows,
        wide_only: &[],
    }
}
