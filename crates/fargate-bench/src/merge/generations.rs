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
//!
//! Most placements run on one generation, and their rows per generation would be their rows:
//! nothing is folded twice until a placement's second generation appears. Then the rows of its
//! items so far, all of the first generation, start that generation's rows, and from there on
//! each item there is folded into its generation's rows too.

use std::collections::{BTreeMap, BTreeSet};

use probe_core::Report;

use super::{mem_row, net_row, RowAccs};
use crate::store::ItemRecord;
use crate::summary::{GenerationRows, GenerationShare, Placement, UNKNOWN_GENERATION};

/// Items and tasks of one placement on one generation.
#[derive(Default)]
struct Count {
    items: u64,
    tasks: u64,
}

/// Tasks per generation, and each generation's rows, in the making.
#[derive(Default)]
pub(super) struct GenerationAcc {
    /// Tasks per placement and task generation.
    tasks: BTreeMap<(Placement, String), u64>,
    /// Items and tasks per placement and item generation.
    items: BTreeMap<(Placement, String), Count>,
    /// The generation of each placement's items while they all ran on one.
    only: BTreeMap<Placement, String>,
    /// The rows per placement and item generation, of placements that ran on more than one.
    rows: BTreeMap<(Placement, String), RowAccs>,
}

/// The generation of the task that wrote `report`.
fn task_generation(report: &Report) -> String {
    report
        .host
        .cpu_generation()
        .unwrap_or_else(|| UNKNOWN_GENERATION.to_owned())
}

/// Each task's generation, and the item's: its tasks' distinct generations, sorted, joined
/// by ` + `.
fn generations_of(rec: &ItemRecord) -> (Vec<String>, String) {
    let each: Vec<String> = rec.reports.iter().map(task_generation).collect();
    let distinct: BTreeSet<&str> = each.iter().map(String::as_str).collect();
    let item = distinct.into_iter().collect::<Vec<_>>().join(" + ");
    (each, item)
}

/// The rows of `all` at `placement`: what its items so far gave.
fn rows_at(all: &RowAccs, placement: Placement) -> RowAccs {
    RowAccs {
        net: (all.net.iter())
            .filter(|((_, p, _), _)| *p == placement)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        mem: (all.mem.iter())
            .filter(|((p, ..), _)| *p == placement)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

impl GenerationAcc {
    /// Counts a finished item's tasks, and gives the rows its figures go to as well, where its
    /// placement's items ran on more than one generation. `all` holds the all-tasks rows of
    /// every earlier item, not yet this one's.
    pub(super) fn add(
        &mut self,
        rec: &ItemRecord,
        placement: Placement,
        all: &RowAccs,
    ) -> Option<&mut RowAccs> {
        if rec.reports.is_empty() {
            return None;
        }
        let (each, generation) = generations_of(rec);
        for task in each {
            *self.tasks.entry((placement, task)).or_default() += 1;
        }
        let count = self
            .items
            .entry((placement, generation.clone()))
            .or_default();
        count.items += 1;
        count.tasks += rec.reports.len() as u64;
        if !self.rows.keys().any(|(p, _)| *p == placement) {
            match self.only.remove(&placement) {
                None => {
                    self.only.insert(placement, generation);
                    return None;
                }
                Some(only) if only == generation => {
                    self.only.insert(placement, only);
                    return None;
                }
                // A second generation: the items so far were all of the first.
                Some(first) => {
                    self.rows
                        .insert((placement, first), rows_at(all, placement));
                }
            }
        }
        Some(self.rows.entry((placement, generation)).or_default())
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
        let mut rows: Vec<GenerationRows> = self
            .rows
            .into_iter()
            .map(|((size, generation), accs)| {
                let count = self
                    .items
                    .get(&(size, generation.clone()))
                    .map_or((0, 0), |c| (c.items, c.tasks));
                GenerationRows {
                    size,
                    items: count.0,
                    tasks: count.1,
                    network: (accs.net.into_iter())
                        .map(|(key, acc)| net_row(key, acc, price_of).0)
                        .collect(),
                    memory_bandwidth: (accs.mem.into_iter())
                        .filter_map(|(key, acc)| mem_row(key, acc, price_of))
                        .collect(),
                    generation,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.size, b.items, &a.generation).cmp(&(b.size, a.items, &b.generation))
        });
        let mixed: BTreeSet<Placement> = rows.iter().map(|r| r.size).collect();
        let mut warnings = Vec::new();
        for placement in &mixed {
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
    /// generation gains none (and is folded once); the shares and the warning say the mix.
    #[test]
    fn a_size_on_two_generations_is_given_per_generation_with_its_shares() {
        let recs = [
            memory("1x2", 1, INTEL, 20e9),
            memory("1x2", 2, INTEL, 21e9),
            // The split: the two Intel items so far start Intel's rows.
            memory("1x2", 3, AMD, 12e9),
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
            super::generations_of(&pair).1,
            "AMD EPYC 7R13 (Milan) + Intel Xeon Platinum 8259CL (Cascade Lake)"
        );
        let mut unknown = memory("1x2", 2, "", 1.0);
        unknown.reports[0].host.cpu = None;
        assert_eq!(
            super::generations_of(&unknown).1,
            crate::summary::UNKNOWN_GENERATION
        );
    }
}
