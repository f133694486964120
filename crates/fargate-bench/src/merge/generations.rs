//! The CPU generation part of the fold: which generation each task ran on
//! ([`probe_core::host::HostFacts::cpu_generation`]), the share of each per placement, and,
//! where a placement's items ran on more than one, every figure again per generation.
//!
//! Fargate places a task on whatever host has room, and hosts differ: a size's tasks can land
//! on Intel and AMD, or on Graviton2 and Graviton3, in one run. A median over both describes
//! neither, so such a placement's items are also folded per generation ([`GenerationRows`]),
//! the report says so in a warning, and `recommend` judges the worst generation. An item's
//! generation is its tasks' (a network item's client and server may differ: then both, as
//! `A + B`).

use std::collections::{BTreeMap, BTreeSet};

use probe_core::Report;

use super::{mem_row, net_row, RowAccs};
use crate::store::ItemRecord;
use crate::summary::{GenerationRows, GenerationShare, Placement, UNKNOWN_GENERATION};

/// The rows of one placement's items on one generation.
struct ItemsOn {
    rows: RowAccs,
    items: u64,
    tasks: u64,
}

/// Tasks per generation, and each generation's rows, in the making.
#[derive(Default)]
pub(super) struct GenerationAcc {
    /// Tasks per placement and generation.
    tasks: BTreeMap<(Placement, String), u64>,
    /// Rows per placement and item generation.
    items: BTreeMap<(Placement, String), ItemsOn>,
}

/// The generation of the task that wrote `report`.
fn task_generation(report: &Report) -> String {
    report
        .host
        .cpu_generation()
        .unwrap_or_else(|| UNKNOWN_GENERATION.to_owned())
}

/// An item's generation: its tasks' distinct generations, sorted, joined by ` + `.
pub(crate) fn item_generation(rec: &ItemRecord) -> String {
    let each: BTreeSet<String> = rec.reports.iter().map(task_generation).collect();
    each.into_iter().collect::<Vec<_>>().join(" + ")
}

impl GenerationAcc {
    /// Counts the tasks of a finished item.
    pub(super) fn count(&mut self, rec: &ItemRecord, placement: Placement) {
        for report in &rec.reports {
            *self
                .tasks
                .entry((placement, task_generation(report)))
                .or_default() += 1;
        }
    }

    /// The rows of the item's generation at its placement, to add its figures to.
    pub(super) fn rows_of(
        &mut self,
        rec: &ItemRecord,
        placement: Placement,
    ) -> Option<&mut RowAccs> {
        if rec.reports.is_empty() {
            return None;
        }
        let on = self
            .items
            .entry((placement, item_generation(rec)))
            .or_insert_with(|| ItemsOn {
                rows: RowAccs::default(),
                items: 0,
                tasks: 0,
            });
        on.items += 1;
        on.tasks += rec.reports.len() as u64;
        Some(&mut on.rows)
    }

    /// The shares, the rows of placements whose items ran on more than one generation, and a
    /// warning naming each such placement and its mix.
    pub(super) fn finish(
        self,
        price_of: &dyn Fn(Placement) -> Option<f64>,
    ) -> (Vec<GenerationShare>, Vec<GenerationRows>, Vec<String>) {
        let mut totals: BTreeMap<Placement, u64> = BTreeMap::new();
        for ((placement, _), n) in &self.tasks {
            *totals.entry(*placement).or_default() += n;
        }
        let mut shares: Vec<GenerationShare> = self
            .tasks
            .into_iter()
            .map(|((size, generation), tasks)| GenerationShare {
                share: tasks as f64 / totals[&size].max(1) as f64,
                size,
                generation,
                tasks,
            })
            .collect();
        shares.sort_by(|a, b| {
            (a.size, b.tasks, &a.generation).cmp(&(b.size, a.tasks, &b.generation))
        });
        let mut keys: BTreeMap<Placement, usize> = BTreeMap::new();
        for (placement, _) in self.items.keys() {
            *keys.entry(*placement).or_default() += 1;
        }
        let mixed = |p: &Placement| keys.get(p).is_some_and(|n| *n > 1);
        let mut rows: Vec<GenerationRows> = self
            .items
            .into_iter()
            .filter(|((placement, _), _)| mixed(placement))
            .map(|((size, generation), on)| GenerationRows {
                size,
                generation,
                items: on.items,
                tasks: on.tasks,
                network: (on.rows.net.into_iter())
                    .map(|(key, acc)| net_row(key, acc, price_of).0)
                    .collect(),
                memory_bandwidth: (on.rows.mem.into_iter())
                    .filter_map(|(key, acc)| mem_row(key, acc, price_of))
                    .collect(),
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.size, b.items, &a.generation).cmp(&(b.size, a.items, &b.generation))
        });
        let mut warnings = Vec::new();
        for (placement, _) in keys.iter().filter(|(p, _)| mixed(p)) {
            let mix: Vec<String> = rows
                .iter()
                .filter(|r| r.size == *placement)
                .map(|r| format!("{} on {}", plural(r.items, "item"), r.generation))
                .collect();
            warnings.push(format!(
                "{placement}: its items ran on {} CPU generations ({}): a median over them \
                 describes none, so each figure is also given per generation (\"By CPU \
                 generation\"), and recommend judges the worst",
                mix.len(),
                mix.join(", ")
            ));
        }
        (shares, rows, warnings)
    }
}

/// `1 item`, `3 items`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use probe_core::host::parse_cpu_identity;
    use probe_core::report::BandwidthResult;
    use probe_core::{Report, Role};

    use super::super::tests::meta;
    use crate::sizes::Prices;
    use crate::store::{now_rfc3339, ItemRecord, ItemStatus};

    const INTEL: &str = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
                         model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\n\
                         stepping\t: 7\n";
    const AMD: &str = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\
                       model name\t: AMD EPYC 7R13 Processor\nstepping\t: 1\n";

    fn on(cpuinfo: &str, role: Role, kind: &str) -> Report {
        let mut r = Report::new("probe", "0", role, kind);
        r.host.cpu = parse_cpu_identity(cpuinfo);
        r
    }

    fn memory(size: &str, rep: u32, cpuinfo: &str, triad: f64) -> ItemRecord {
        let mut r = on(cpuinfo, Role::Standalone, "memory");
        r.metrics.memory_bandwidth.push(BandwidthResult {
            kernel: "triad".into(),
            stores: "cached".into(),
            implementation: "avx2".into(),
            threads: 1,
            array_bytes: 1,
            bytes_per_pass: 1,
            passes: 10,
            best_bytes_per_sec: triad,
            median_bytes_per_sec: triad,
            worst_bytes_per_sec: triad,
            cv: 0.0,
            bus_bytes_per_sec: triad,
            sustained_bytes_per_sec: triad,
            throttled_periods: None,
            throttled_ns: None,
        });
        ItemRecord {
            id: format!("{rep}/{size}/memory"),
            label: "memory".into(),
            kind: "memory".into(),
            size: size.into(),
            arch: None,
            repetition: rep,
            status: ItemStatus::Ok,
            reports: vec![r],
            reason: None,
            last_lines: vec![],
            emulated: vec![],
            finished_at: now_rfc3339(),
            lifecycles: Vec::new(),
        }
    }

    /// A size whose tasks landed on Intel Cascade Lake (3) and AMD Milan (2) keeps its
    /// all-tasks row, and gains one row per generation with its own spread; a size on one
    /// generation gains none; the shares and the warning say the mix.
    #[test]
    fn a_size_on_two_generations_is_given_per_generation_with_its_shares() {
        let recs = [
            memory("1x2", 1, INTEL, 20e9),
            memory("1x2", 2, AMD, 12e9),
            memory("1x2", 3, INTEL, 21e9),
            memory("1x2", 4, AMD, 13e9),
            memory("1x2", 5, INTEL, 22e9),
            memory("0.5x1", 1, AMD, 10e9),
            memory("0.5x1", 2, AMD, 11e9),
        ];
        let prices = Prices::new(None, None, crate::sizes::Arch::X86).unwrap();
        let s = super::super::summarize(&meta(), &recs, Some(&prices)).summary;
        let all = (s.memory_bandwidth.iter())
            .find(|r| r.size.to_string() == "1x2")
            .unwrap();
        assert_eq!(all.best_bytes_per_sec.n, 5, "the all-tasks row stays");
        let shares: Vec<(String, &str, u64, f64)> = (s.cpu_generations.iter())
            .map(|g| (g.size.to_string(), g.generation.as_str(), g.tasks, g.share))
            .collect();
        assert_eq!(
            shares,
            [
                ("0.5x1".to_owned(), "AMD EPYC 7R13 (Milan)", 2, 1.0),
                (
                    "1x2".to_owned(),
                    "Intel Xeon Platinum 8259CL (Cascade Lake)",
                    3,
                    0.6
                ),
                ("1x2".to_owned(), "AMD EPYC 7R13 (Milan)", 2, 0.4),
            ]
        );
        let groups: Vec<(String, &str, u64, f64)> = (s.by_generation.iter())
            .map(|g| {
                let triad = &g.memory_bandwidth[0].best_bytes_per_sec;
                (
                    g.size.to_string(),
                    g.generation.as_str(),
                    g.items,
                    triad.median,
                )
            })
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "1x2".to_owned(),
                    "Intel Xeon Platinum 8259CL (Cascade Lake)",
                    3,
                    21e9
                ),
                ("1x2".to_owned(), "AMD EPYC 7R13 (Milan)", 2, 12.5e9),
            ]
        );
        // Each generation's row is priced as its size is.
        let cost = s.by_generation[1].memory_bandwidth[0].cost_per_hour;
        assert_eq!(cost, all.cost_per_hour);
        let warned: Vec<&String> = (s.warnings.iter())
            .filter(|w| w.contains("CPU generations"))
            .collect();
        assert_eq!(warned.len(), 1, "{:?}", s.warnings);
        assert!(
            warned[0].starts_with("1x2: its items ran on 2 CPU generations (3 items on Intel"),
            "{}",
            warned[0]
        );
    }

    /// A pair whose client and server ran on different generations is keyed by both; a task
    /// with no CPU recorded counts as such, never as a guess.
    #[test]
    fn a_pair_across_generations_and_an_unrecorded_cpu_are_named_as_they_are() {
        let mut pair = memory("1x2", 1, INTEL, 1.0);
        pair.reports = vec![
            on(INTEL, Role::Client, "tcp-rr"),
            on(AMD, Role::Server, "tcp-rr"),
        ];
        assert_eq!(
            super::item_generation(&pair),
            "AMD EPYC 7R13 (Milan) + Intel Xeon Platinum 8259CL (Cascade Lake)"
        );
        let mut unknown = memory("1x2", 2, "", 1.0);
        unknown.reports[0].host.cpu = None;
        assert_eq!(
            super::item_generation(&unknown),
            crate::summary::UNKNOWN_GENERATION
        );
    }
}
