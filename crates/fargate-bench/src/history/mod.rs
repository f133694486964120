//! `fargate-bench history RESULTS...`: many runs of one suite laid out over time, each headline
//! figure per size as a series, with the moves its intervals show and the runs where the
//! conditions under it changed (the CPU models the tasks landed on, the Fargate platform
//! version), so a scheduled run's drift is read with its likely cause beside it.
//!
//! A history is of one suite: runs are matched by their tests (kind, label and options), since a
//! figure of a different test is not the same figure. Sizes may come and go between runs; a
//! size missing from a run leaves a gap, never an interpolated value.
//!
//! A step from one run to the next is judged as `compare` judges two runs
//! ([`crate::compare::change`]): only a ratio whose interval excludes 1 is a move.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::compare::{self, Verdict};
use crate::figure::{self, Figure};
use probe_core::stats::SampleSummary;

use crate::summary::{Merged, Placement, Unit};
use crate::{BenchError, Result};

/// One run of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunPoint {
    /// Its id (the results directory's name).
    pub run_id: String,
    /// When it started (RFC 3339), the order of the history.
    pub started_at: String,
    /// Its backend.
    pub backend: String,
    /// Per placement (`1x2`, `1x2 arm64`): the CPU generations its tasks ran on (the CPU
    /// models, for runs recorded before generations were).
    pub cpus: BTreeMap<String, BTreeSet<String>>,
    /// Per placement: the Fargate platform versions its tasks ran on (ECS runs only).
    pub platform_versions: BTreeMap<String, BTreeSet<String>>,
}

/// One run's value of a figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Median over the run's repetitions.
    pub median: f64,
    /// The median's 95 % interval, when the run had repetitions enough for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
    /// Repetitions the run had of it.
    pub repetitions: u64,
    /// The move from the last earlier run that had this figure, judged on both intervals;
    /// absent for the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

/// The move of a figure from one run to a later one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Index (in [`History::runs`]) of the earlier run it is judged against.
    pub from_run: usize,
    /// This run's median over that run's, when that one is not zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// What the two intervals say.
    pub verdict: Verdict,
}

impl Step {
    /// Whether the intervals show a move (higher or lower), not noise.
    pub fn moved(&self) -> bool {
        matches!(self.verdict, Verdict::Higher | Verdict::Lower)
    }
}

/// A headline figure of one test at one placement, over the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureSeries {
    /// The figure in words, as `compare` names it (`tcp-stream client->server baseline`).
    pub metric: String,
    /// Where it ran.
    pub placement: Placement,
    /// Unit of the values.
    pub unit: Unit,
    /// One entry per run of [`History::runs`]; `None` where the run did not have it.
    pub points: Vec<Option<Point>>,
}

/// A change of the conditions under a placement between two consecutive runs that had it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionChange {
    /// Index (in [`History::runs`]) of the run where it is first seen.
    pub run: usize,
    /// The placement (`1x2`).
    pub placement: String,
    /// `cpu` or `platform version`.
    pub what: &'static str,
    /// As the earlier run had it.
    pub before: BTreeSet<String>,
    /// As this run has it.
    pub after: BTreeSet<String>,
}

impl ConditionChange {
    /// In words: `1x2: CPU Intel Xeon 8375C -> AMD EPYC 7R13 (from run #3)`.
    pub fn words(&self) -> String {
        let join = |s: &BTreeSet<String>| {
            if s.is_empty() {
                "unknown".to_owned()
            } else {
                s.iter().cloned().collect::<Vec<_>>().join(" + ")
            }
        };
        format!(
            "{}: {} {} -> {} (from run #{})",
            self.placement,
            self.what,
            join(&self.before),
            join(&self.after),
            self.run + 1
        )
    }
}

/// Many runs of one suite, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    /// The runs, by start time.
    pub runs: Vec<RunPoint>,
    /// Every headline figure any run had, in the first run's order (later ones' new figures
    /// after).
    pub figures: Vec<FigureSeries>,
    /// Where the CPU models or platform versions under a placement changed.
    pub changes: Vec<ConditionChange>,
}

impl History {
    /// The figures that moved (the intervals show it) at least once.
    pub fn moved(&self) -> impl Iterator<Item = &FigureSeries> {
        self.figures.iter().filter(|f| {
            f.points
                .iter()
                .flatten()
                .any(|p| p.step.as_ref().is_some_and(Step::moved))
        })
    }
}

/// Whether a row's figure is one of its headlines: the bucket's baseline and burst where one
/// was found (else the whole window's throughput), transactions and the p50 and p99 round
/// trips, a memory kernel's reported bandwidth.
fn is_headline(figure: Figure, has_bucket: bool) -> bool {
    match figure {
        Figure::Baseline | Figure::Burst => true,
        Figure::Throughput => !has_bucket,
        Figure::Transactions | Figure::P50 | Figure::P99 | Figure::Kernel(_) => true,
        Figure::BurstDuration | Figure::P90 | Figure::P99_9 => false,
    }
}

/// A headline figure of one run.
struct Headline<'a> {
    metric: String,
    placement: Placement,
    unit: Unit,
    value: &'a SampleSummary,
}

/// A run's headline figures, each once per placement: a network row's (see [`is_headline`]),
/// and per memory kernel the best of its store kinds and thread counts (`memory triad best`):
/// what a size offers a workload free to choose them, as `recommend` judges it.
fn headlines(run: &Merged) -> Vec<Headline<'_>> {
    let summary = &run.summary;
    let mut out: Vec<Headline<'_>> = Vec::new();
    for f in figure::row_figures(summary) {
        if f.chosen {
            let metric = format!("memory {} best", f.figure.name());
            match out
                .iter_mut()
                .find(|h| h.metric == metric && h.placement == f.placement)
            {
                Some(h) if h.value.median < f.value.median => h.value = f.value,
                Some(_) => {}
                None => out.push(Headline {
                    metric,
                    placement: f.placement,
                    unit: f.figure.unit(),
                    value: f.value,
                }),
            }
            continue;
        }
        let has_bucket = summary
            .network
            .get(f.row)
            .is_some_and(|r| r.bucket.is_some());
        if is_headline(f.figure, has_bucket)
            && !out
                .iter()
                .any(|h| h.metric == f.name() && h.placement == f.placement)
        {
            out.push(Headline {
                metric: f.name(),
                placement: f.placement,
                unit: f.figure.unit(),
                value: f.value,
            });
        }
    }
    out
}

/// What identifies a suite's tests for a history: each test's label and full spec.
fn suite_tests(run: &Merged) -> Vec<String> {
    run.summary
        .run
        .suite
        .tests
        .iter()
        .map(|t| serde_json::to_string(t).unwrap_or_else(|_| t.label()))
        .collect()
}

fn placement_name(p: &Placement) -> String {
    p.to_string()
}

fn run_point(run: &Merged) -> RunPoint {
    let mut cpus: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut platform_versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Every task's CPU generation where the merge counted them; else the first task's CPU.
    for g in &run.summary.cpu_generations {
        cpus.entry(placement_name(&g.size))
            .or_default()
            .insert(g.generation.clone());
    }
    for h in &run.hosts {
        let at = placement_name(&h.placement);
        if run.summary.cpu_generations.is_empty() {
            cpus.entry(at.clone()).or_default().insert(h.cpu.clone());
        }
        if let Some(v) = &h.platform_version {
            platform_versions.entry(at).or_default().insert(v.clone());
        }
    }
    let meta = &run.summary.run;
    RunPoint {
        run_id: meta.run_id.clone(),
        started_at: meta.started_at.clone(),
        backend: meta.backend.clone(),
        cpus,
        platform_versions,
    }
}

/// Lays `runs` out over time (they may come in any order).
///
/// # Errors
/// [`BenchError::History`] for fewer than two runs, two runs with one id (the same directory
/// twice), runs of different suites (naming both and the tests that differ), or runs that
/// share no headline figure.
pub fn history(runs: &[Merged]) -> Result<History> {
    let fail = |why: String| Err(BenchError::History { why });
    if runs.len() < 2 {
        return fail(format!(
            "{} run given: a history needs at least two results directories of one suite",
            runs.len()
        ));
    }
    let mut order: Vec<&Merged> = runs.iter().collect();
    order.sort_by(|a, b| {
        (&a.summary.run.started_at, &a.summary.run.run_id)
            .cmp(&(&b.summary.run.started_at, &b.summary.run.run_id))
    });
    for pair in order.windows(2) {
        if pair[0].summary.run.run_id == pair[1].summary.run.run_id {
            return fail(format!(
                "run {} is given twice: give each results directory once",
                pair[0].summary.run.run_id
            ));
        }
    }
    let first = order[0];
    let tests = suite_tests(first);
    for other in &order[1..] {
        let theirs = suite_tests(other);
        if theirs != tests {
            let labels = |m: &Merged| {
                m.summary
                    .run
                    .suite
                    .tests
                    .iter()
                    .map(|t| t.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let detail = if labels(first) == labels(other) {
                "the same labels with different options".to_owned()
            } else {
                format!("[{}] against [{}]", labels(first), labels(other))
            };
            return fail(format!(
                "runs {} and {} are of different suites ({detail}): a history lays out runs of \
                 one suite; give only runs of one suite file, or `compare` two runs of different \
                 suites",
                first.summary.run.run_id, other.summary.run.run_id
            ));
        }
    }

    let per_run: Vec<Vec<Headline<'_>>> = order.iter().map(|r| headlines(r)).collect();
    let mut figures: Vec<FigureSeries> = Vec::new();
    let mut index: BTreeMap<(String, Placement), usize> = BTreeMap::new();
    for (i, run) in per_run.iter().enumerate() {
        for h in run {
            let key = (h.metric.clone(), h.placement);
            let at = *index.entry(key).or_insert_with(|| {
                figures.push(FigureSeries {
                    metric: h.metric.clone(),
                    placement: h.placement,
                    unit: h.unit,
                    points: vec![None; order.len()],
                });
                figures.len() - 1
            });
            let series = &mut figures[at];
            let step = (0..i).rev().find_map(|j| {
                let earlier = per_run[j]
                    .iter()
                    .find(|e| e.metric == h.metric && e.placement == h.placement)?;
                let c = compare::change(String::new(), series.unit, earlier.value, h.value);
                Some(Step {
                    from_run: j,
                    ratio: c.ratio,
                    verdict: c.verdict,
                })
            });
            series.points[i] = Some(Point {
                median: h.value.median,
                interval: h.value.median_ci95(),
                repetitions: h.value.n,
                step,
            });
        }
    }
    if figures.is_empty() {
        return fail(
            "the runs have no headline figure (every item failed?): check each with \
             `fargate-bench report DIR`"
                .into(),
        );
    }
    let points: Vec<RunPoint> = order.iter().map(|r| run_point(r)).collect();
    let changes = condition_changes(&points);
    Ok(History {
        runs: points,
        figures,
        changes,
    })
}

/// Reads one kind of condition (per placement, the values seen) off a run.
type Conditions = fn(&RunPoint) -> &BTreeMap<String, BTreeSet<String>>;

/// Where a placement's CPU models or platform versions differ from the last earlier run that
/// reported them.
fn condition_changes(runs: &[RunPoint]) -> Vec<ConditionChange> {
    let mut out = Vec::new();
    let kinds: [(&'static str, Conditions); 2] = [
        ("CPU", |r| &r.cpus),
        ("platform version", |r| &r.platform_versions),
    ];
    for (what, of) in kinds {
        let mut last: BTreeMap<&str, &BTreeSet<String>> = BTreeMap::new();
        for (i, run) in runs.iter().enumerate() {
            for (placement, now) in of(run) {
                if let Some(before) = last.insert(placement, now) {
                    if before != now {
                        out.push(ConditionChange {
                            run: i,
                            placement: placement.clone(),
                            what,
                            before: before.clone(),
                            after: now.clone(),
                        });
                    }
                }
            }
        }
    }
    out.sort_by_key(|c| c.run);
    out
}

#[cfg(test)]
pub(crate) mod tests;
