//! One need at one size: which value of a figure is judged, its margin, and which of the
//! size's rows decides.
//!
//! A figure is judged on the end of its interval the need must clear: the lower end of the
//! median's 95 % interval for a floor (`>=`), the upper end for a ceiling (`<=`), so a size
//! whose median meets the need but whose interval reaches past it is refused. With 2 to 5
//! repetitions there is no such interval: the lowest (or highest) repetition stands in, the
//! end of the range the reports print. One repetition is judged on its value and flagged
//! ([`Basis::OneRepetition`]).
//!
//! Several rows can measure one figure at one size: both directions of a tcp-stream test,
//! two tests of one kind, two runs of one size. Each is a condition the workload may meet,
//! so the size is judged on the worst of them. A memory kernel's store kinds and thread
//! counts are instead ways the workload may run: the size offers the best of them (within
//! each run; across runs, the worst again). Where a size's items ran on more than one CPU
//! generation, each generation's rows ([`crate::figure::judged_figures`]) are one more
//! condition, judged the same way: the size is as good as the worst host it may land on (a
//! memory kernel's best way to run is chosen within each generation).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use probe_core::stats::SampleSummary;
use serde::Serialize;

use super::need::{Need, Op, Quantity, Target};
use crate::figure::{Figure, FigureName, RowFigure, MEMORY};
use crate::sizes::TaskSize;
use crate::summary::{Placement, Summary, Unit};

/// What a judged value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// An end of the median's 95 % interval (6 repetitions or more).
    Interval,
    /// The lowest (floor) or highest (ceiling) of 2 to 5 repetitions: no 95 % interval.
    Range,
    /// The value of the only repetition: no spread to judge by.
    OneRepetition,
    /// A property of the size itself (its memory, its vCPUs).
    Exact,
}

/// The value of `v` a need judges: see the module doc.
pub fn judged_value(v: &SampleSummary, floor: bool) -> (f64, Basis) {
    if let Some((lo, hi)) = v.median_ci95() {
        return (if floor { lo } else { hi }, Basis::Interval);
    }
    if v.n <= 1 {
        return (v.median, Basis::OneRepetition);
    }
    (if floor { v.min } else { v.max }, Basis::Range)
}

/// One figure of one row against one need's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The row and figure (`tcp-stream client->server baseline`, `task memory`).
    pub what: String,
    /// Unit of `median`, `judged` and `need`.
    pub unit: Quantity,
    /// The median over repetitions (shown, never judged).
    pub median: f64,
    /// The value judged.
    pub judged: f64,
    /// What `judged` is.
    pub basis: Basis,
    /// Repetitions behind the figure (0 for a property of the size).
    pub repetitions: u64,
    /// The comparison.
    pub op: Op,
    /// The need's value.
    pub need: f64,
    /// Room to spare, relative to the need: `judged / need - 1` for a floor, `1 - judged /
    /// need` for a ceiling; below zero, short by that much.
    pub margin: f64,
    /// `judged` satisfies the need.
    pub meets: bool,
    /// The median would: with `meets` false, the need is met at the median only.
    pub meets_at_median: bool,
    /// The run it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The CPU generation whose items alone it is over, where the size's items ran on more
    /// than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
}

impl Check {
    fn new(what: String, unit: Quantity, v: &SampleSummary, op: Op, need: f64) -> Check {
        let (judged, basis) = judged_value(v, op.floor());
        let mut c = Check::exact(what, unit, judged, op, need);
        c.basis = basis;
        c.median = v.median;
        c.repetitions = v.n;
        c.meets_at_median = op.holds(v.median, need);
        c
    }

    fn exact(what: String, unit: Quantity, value: f64, op: Op, need: f64) -> Check {
        let margin = if op.floor() {
            value / need - 1.0
        } else {
            1.0 - value / need
        };
        Check {
            what,
            unit,
            median: value,
            judged: value,
            basis: Basis::Exact,
            repetitions: 0,
            op,
            need,
            margin,
            meets: op.holds(value, need),
            meets_at_median: op.holds(value, need),
            run: None,
            generation: None,
        }
    }
}

/// One need at one size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Index of the need.
    pub need: usize,
    /// Every check of the deciding row holds.
    pub meets: bool,
    /// The checks of the row that decides (the worst condition): one, or two for a burst
    /// that must last. Empty when the figure was not measured here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Why nothing here measured it (never interpolated from other sizes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_measured: Option<String>,
}

impl Verdict {
    /// The smallest margin of its checks.
    pub fn margin(&self) -> Option<f64> {
        self.checks.iter().map(|c| c.margin).min_by(f64::total_cmp)
    }

    /// Short, though every median would meet it: refused on its interval alone.
    pub fn met_at_median_only(&self) -> bool {
        !self.meets && !self.checks.is_empty() && self.checks.iter().all(|c| c.meets_at_median)
    }
}

/// Where a size was measured: a run's rows at one placement.
pub(super) struct Source<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// The run's summary.
    pub summary: &'a Summary,
    /// Its named figures ([`crate::figure::row_figures`]).
    pub figures: &'a [RowFigure<'a>],
    /// The placement its rows name.
    pub placement: Placement,
}

/// Checks met first last: failing ones first, then by the smallest margin.
fn worse(a: &[Check], b: &[Check]) -> std::cmp::Ordering {
    let key = |c: &[Check]| {
        (
            c.iter().all(|c| c.meets),
            c.iter().map(|c| c.margin).fold(f64::INFINITY, f64::min),
        )
    };
    let (ka, kb) = (key(a), key(b));
    ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
}

/// Need number `index` at `size`, measured by `sources`.
pub(super) fn judge(need: &Need, index: usize, size: TaskSize, sources: &[Source<'_>]) -> Verdict {
    let exact = |what: &str, unit, value| Verdict {
        need: index,
        meets: need.op.holds(value, need.value),
        checks: vec![Check::exact(what.into(), unit, value, need.op, need.value)],
        not_measured: None,
    };
    let name = match &need.target {
        Target::TaskMemory => {
            return exact("task memory", Quantity::Bytes, size.memory_bytes() as f64)
        }
        Target::TaskVcpu => return exact("task vCPUs", Quantity::Vcpu, size.vcpu()),
        Target::Figure(name) => name,
    };
    let mut conditions: Vec<Vec<Check>> = Vec::new();
    for src in sources {
        // The best way to run a memory kernel, within each generation.
        let mut best_chosen: BTreeMap<Option<&str>, Vec<Check>> = BTreeMap::new();
        let here = src
            .figures
            .iter()
            .filter(|f| f.placement == src.placement && name.selects(f));
        for f in here {
            let mut checks = vec![Check::new(
                f.name(),
                need.unit,
                f.value,
                need.op,
                need.value,
            )];
            if let Some(lasting) = need.lasting_ns {
                let Some(d) = src
                    .figures
                    .iter()
                    .find(|g| g.row == f.row && g.figure == Figure::BurstDuration)
                else {
                    continue;
                };
                checks.push(Check::new(
                    format!("{} burst lasted", f.what),
                    Quantity::Measured(Unit::Nanoseconds),
                    d.value,
                    Op::AtLeast,
                    lasting,
                ));
            }
            for c in &mut checks {
                c.run = Some(src.run_id.to_owned());
                c.generation = f.generation.map(str::to_owned);
            }
            if !f.chosen {
                conditions.push(checks);
            } else {
                match best_chosen.entry(f.generation) {
                    Entry::Vacant(e) => {
                        e.insert(checks);
                    }
                    Entry::Occupied(mut e) => {
                        if worse(e.get(), &checks).is_lt() {
                            e.insert(checks);
                        }
                    }
                }
            }
        }
        conditions.extend(best_chosen.into_values());
    }
    // The first of equally bad rows decides: runs in the order given, rows in report order.
    match conditions
        .into_iter()
        .reduce(|a, b| if worse(&b, &a).is_lt() { b } else { a })
    {
        Some(checks) => Verdict {
            need: index,
            meets: checks.iter().all(|c| c.meets),
            checks,
            not_measured: None,
        },
        None => Verdict {
            need: index,
            meets: false,
            checks: Vec::new(),
            not_measured: Some(why_missing(name, sources)),
        },
    }
}

/// Why no row at a size has the figure `name`, in words that say what to run.
fn why_missing(name: &FigureName, sources: &[Source<'_>]) -> String {
    if let Figure::Kernel(kernel) = name.figure {
        let ran = sources.iter().any(|s| {
            s.summary
                .memory_bandwidth
                .iter()
                .any(|r| r.size == s.placement)
        });
        return if ran {
            format!("the memory test ran no {kernel} kernel")
        } else {
            format!("no {MEMORY} test ran")
        };
    }
    let rows: Vec<_> = sources
        .iter()
        .flat_map(|s| {
            s.summary.network.iter().filter(move |r| {
                r.size == s.placement && (r.test == name.test || r.kind == name.test)
            })
        })
        .collect();
    if rows.is_empty() {
        return format!("no {} test ran", name.test);
    }
    if name.figure.of_bucket() {
        let mut seen = std::collections::BTreeMap::<&str, u64>::new();
        for (regime, n) in rows.iter().flat_map(|r| &r.regimes) {
            *seen.entry(regime.as_str()).or_default() += n;
        }
        let seen: Vec<String> = seen
            .iter()
            .map(|(k, n)| format!("{n}x {}", k.replace('_', " ")))
            .collect();
        return format!(
            "its series read no burst then baseline ({}): run until_baseline to read the \
             bucket, or need {}.throughput, the rate it held",
            if seen.is_empty() {
                "no series".to_owned()
            } else {
                seen.join(", ")
            },
            name.test
        );
    }
    format!("its rows hold no {}", name.figure.name())
}
