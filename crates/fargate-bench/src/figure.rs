//! Figures by name: what `recommend --need` and `compare --fail-if` name
//! (`tcp-stream.baseline`, `tcp-rr.p99`, `memory.triad`), and where each is read in a
//! summary's rows.
//!
//! A name is `TEST.FIGURE`. TEST is a test kind (every test of that kind: the `sizing`
//! preset's upload and download are both `tcp-stream`) or a test's label as the reports print
//! it (`upload until baseline`), so one test can be singled out. FIGURE is one the reports
//! already show:
//!
//! - bulk tests (`tcp-stream`, `udp-stream`): `baseline`, `burst` and `burst-duration` (where
//!   the series showed a token bucket), `throughput` (the whole measured window);
//! - request/response tests (`tcp-rr`, `udp-rr`, `tcp-crr`): `transactions`, and the round
//!   trip's `p50`, `p90`, `p99`, `p99.9`;
//! - `memory`: a kernel (`copy`, `scale`, `add`, `triad`, `read`, `write`, `memcpy`), read as
//!   the reports' headline (what a CPU quota lets it sustain where one throttled it).
//!
//! Every figure is values over repetitions (a [`SampleSummary`]), never one number, so a
//! decision can use its interval. A percentile is each repetition's own
//! ([`crate::summary::RttPercentiles`]): the pooled one has no spread to judge by.

use probe_core::stats::SampleSummary;

use crate::summary::{MemRow, NetRow, Placement, Summary, Unit};

/// Test kinds whose rows carry a throughput (and a bucket).
pub const BULK_KINDS: [&str; 2] = ["tcp-stream", "udp-stream"];
/// Test kinds whose rows carry round trips and transactions.
pub const RR_KINDS: [&str; 3] = ["tcp-rr", "udp-rr", "tcp-crr"];
/// The memory test's kind, and the TEST of its figures.
pub const MEMORY: &str = "memory";
/// The memory kernels, as memprobe names them.
pub const KERNELS: [&str; 7] = ["copy", "scale", "add", "triad", "read", "write", "memcpy"];

/// A figure of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Figure {
    /// The rate a token bucket settles to.
    Baseline,
    /// The rate before it does.
    Burst,
    /// How long the burst lasted.
    BurstDuration,
    /// Receiver throughput over the whole measured window.
    Throughput,
    /// Transactions per second.
    Transactions,
    /// Median round trip.
    P50,
    /// 90th percentile round trip.
    P90,
    /// 99th percentile round trip.
    P99,
    /// 99.9th percentile round trip.
    P99_9,
    /// A memory kernel's bandwidth (one of [`KERNELS`]).
    Kernel(&'static str),
}

const BULK_FIGURES: [Figure; 4] = [
    Figure::Baseline,
    Figure::Burst,
    Figure::BurstDuration,
    Figure::Throughput,
];
const RR_FIGURES: [Figure; 5] = [
    Figure::Transactions,
    Figure::P50,
    Figure::P90,
    Figure::P99,
    Figure::P99_9,
];

impl Figure {
    /// Its name after the dot.
    pub fn name(self) -> &'static str {
        match self {
            Figure::Baseline => "baseline",
            Figure::Burst => "burst",
            Figure::BurstDuration => "burst-duration",
            Figure::Throughput => "throughput",
            Figure::Transactions => "transactions",
            Figure::P50 => "p50",
            Figure::P90 => "p90",
            Figure::P99 => "p99",
            Figure::P99_9 => "p99.9",
            Figure::Kernel(k) => k,
        }
    }

    /// Its unit (base units, as the summary holds it).
    pub fn unit(self) -> Unit {
        match self {
            Figure::Baseline | Figure::Burst | Figure::Throughput => Unit::BitsPerSec,
            Figure::BurstDuration | Figure::P50 | Figure::P90 | Figure::P99 | Figure::P99_9 => {
                Unit::Nanoseconds
            }
            Figure::Transactions => Unit::TransactionsPerSec,
            Figure::Kernel(_) => Unit::BytesPerSec,
        }
    }

    /// Whether the token bucket carries it: absent where no burst then baseline was read.
    pub fn of_bucket(self) -> bool {
        matches!(
            self,
            Figure::Baseline | Figure::Burst | Figure::BurstDuration
        )
    }

    fn all() -> impl Iterator<Item = Figure> {
        BULK_FIGURES
            .into_iter()
            .chain(RR_FIGURES)
            .chain(KERNELS.map(Figure::Kernel))
    }

    /// The figures rows of `kind` have, or `None` for a kind no row has.
    fn of_kind(kind: &str) -> Option<Vec<Figure>> {
        if BULK_KINDS.contains(&kind) {
            Some(BULK_FIGURES.to_vec())
        } else if RR_KINDS.contains(&kind) {
            Some(RR_FIGURES.to_vec())
        } else if kind == MEMORY {
            Some(KERNELS.map(Figure::Kernel).to_vec())
        } else {
            None
        }
    }
}

/// Names of `figures`, for messages.
fn names(figures: &[Figure]) -> String {
    figures
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parsed `TEST.FIGURE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FigureName {
    /// A test kind, or a test's label.
    pub test: String,
    /// The figure.
    pub figure: Figure,
}

impl std::fmt::Display for FigureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.test, self.figure.name())
    }
}

impl FigureName {
    /// Parses `TEST.FIGURE`. A TEST that is a kind must have the figure; a label is checked
    /// against the results with [`FigureName::check`].
    ///
    /// # Errors
    /// What is wrong and what to write instead.
    pub fn parse(text: &str) -> Result<FigureName, String> {
        let text = text.trim();
        // The longest figure name the text ends with (`p99.9` over `9`).
        let found = Figure::all()
            .filter(|f| {
                text.strip_suffix(f.name())
                    .is_some_and(|rest| rest.ends_with('.'))
            })
            .max_by_key(|f| f.name().len());
        let Some(figure) = found else {
            let after = text.rsplit_once('.').map_or(text, |(_, f)| f);
            return Err(if text.contains('.') {
                format!(
                    "unknown figure {after:?}: name one of {} (bulk tests), {} \
                     (request/response tests) or memory.KERNEL ({})",
                    names(&BULK_FIGURES),
                    names(&RR_FIGURES),
                    KERNELS.join(", ")
                )
            } else {
                format!(
                    "{text:?} names no figure: write TEST.FIGURE, such as tcp-stream.baseline, \
                     tcp-rr.p99 or memory.triad"
                )
            });
        };
        let test = text[..text.len() - figure.name().len() - 1].trim();
        if test.is_empty() {
            return Err(format!(
                "{text:?} names no test: write TEST.FIGURE, such as tcp-stream.{}",
                figure.name()
            ));
        }
        let name = FigureName {
            test: test.to_owned(),
            figure,
        };
        if let Some(figures) = Figure::of_kind(test) {
            name.fits(test, &figures)?;
        }
        Ok(name)
    }

    fn fits(&self, kind: &str, figures: &[Figure]) -> Result<(), String> {
        if figures.contains(&self.figure) {
            return Ok(());
        }
        let subject = if kind == self.test {
            kind.to_owned()
        } else {
            format!("{:?} is a {kind} test and", self.test)
        };
        Err(format!(
            "{subject} has no {}: its figures are {}",
            self.figure.name(),
            names(figures)
        ))
    }

    /// Whether `row` is one of the figures this name selects.
    pub fn selects(&self, row: &RowFigure<'_>) -> bool {
        row.figure == self.figure && (row.test == self.test || row.kind == self.test)
    }

    /// Checks a TEST that is not a kind against the runs: some run has a test of that label,
    /// and its kind has the figure.
    ///
    /// # Errors
    /// A label no run has (with the labels they have), or a figure its kind has not.
    pub fn check<'a>(&self, runs: impl IntoIterator<Item = &'a Summary>) -> Result<(), String> {
        if Figure::of_kind(&self.test).is_some() {
            return Ok(());
        }
        let mut labels: Vec<(&str, &str)> = runs
            .into_iter()
            .flat_map(|s| s.network.iter().map(|r| (r.test.as_str(), r.kind.as_str())))
            .collect();
        labels.sort_unstable();
        labels.dedup();
        match labels.iter().find(|(label, _)| *label == self.test) {
            Some((_, kind)) => self.fits(kind, &Figure::of_kind(kind).unwrap_or_default()),
            None => Err(format!(
                "no run has a test named {:?}: name a kind ({}, {}, {MEMORY}) or one of the \
                 runs' tests ({})",
                self.test,
                BULK_KINDS.join(", "),
                RR_KINDS.join(", "),
                labels
                    .iter()
                    .map(|(l, _)| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// One figure of one row of a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFigure<'a> {
    /// Where it ran.
    pub placement: Placement,
    /// The test's label (`memory` for memory rows).
    pub test: &'a str,
    /// The test's kind.
    pub kind: &'a str,
    /// The row in words, as compare names it: `tcp-stream client->server`,
    /// `memory triad cached x2 best`.
    pub what: String,
    /// Which figure.
    pub figure: Figure,
    /// Its values over repetitions.
    pub value: &'a SampleSummary,
    /// The row is one of several ways the workload may run (a memory kernel's store kind and
    /// thread count): a size offers the best of them. Otherwise the row is a condition the
    /// workload meets (a direction, a test), and a size is only as good as its worst.
    pub chosen: bool,
    /// A number of its own per row, so two figures of one row can be told as such.
    pub row: usize,
    /// The CPU generation whose items alone the row is over ([`judged_figures`]); `None` for
    /// a row over every item.
    pub generation: Option<&'a str>,
}

impl RowFigure<'_> {
    /// The row and its figure in words, as compare names a metric:
    /// `tcp-stream client->server baseline`, `memory triad cached x2 best`.
    pub fn name(&self) -> String {
        match self.figure {
            Figure::Kernel(_) => self.what.clone(),
            f => format!("{} {}", self.what, f.name()),
        }
    }
}

/// Every named figure of `summary`'s network and memory rows.
pub fn row_figures<'a>(summary: &'a Summary) -> Vec<RowFigure<'a>> {
    let mut out = Vec::new();
    push_rows(&mut out, &summary.network, &summary.memory_bandwidth, None);
    out
}

/// The figures a decision is judged on: every row's, except that a placement whose items ran
/// on more than one CPU generation gives each generation's rows instead of the rows over all
/// of them ([`Summary::by_generation`]): a median over generations describes none, and each
/// generation is a host the workload may land on.
pub fn judged_figures<'a>(summary: &'a Summary) -> Vec<RowFigure<'a>> {
    figures_split_where(summary, |p| summary.split_by_generation(p))
}

/// Every row's figures where `split` says no, and each generation's rows instead where it says
/// yes (a placement with no rows per generation then gives none).
pub fn figures_split_where<'a>(
    summary: &'a Summary,
    split: impl Fn(Placement) -> bool,
) -> Vec<RowFigure<'a>> {
    let mut out = Vec::new();
    push_rows(
        &mut out,
        summary.network.iter().filter(|r| !split(r.size)),
        summary.memory_bandwidth.iter().filter(|r| !split(r.size)),
        None,
    );
    for g in summary.by_generation.iter().filter(|g| split(g.size)) {
        push_rows(
            &mut out,
            &g.network,
            &g.memory_bandwidth,
            Some(g.generation.as_str()),
        );
    }
    out
}

/// Appends the figures of `network` and `memory` rows, numbering each row after the last.
fn push_rows<'a>(
    out: &mut Vec<RowFigure<'a>>,
    network: impl IntoIterator<Item = &'a NetRow>,
    memory: impl IntoIterator<Item = &'a MemRow>,
    generation: Option<&'a str>,
) {
    let mut row = out.last().map_or(0, |f| f.row + 1);
    for r in network {
        let mut add = |figure: Figure, value: Option<&'a SampleSummary>| {
            if let Some(value) = value {
                out.push(RowFigure {
                    placement: r.size,
                    test: &r.test,
                    kind: &r.kind,
                    what: r.what(),
                    figure,
                    value,
                    chosen: false,
                    row,
                    generation,
                });
            }
        };
        let bucket = r.bucket.as_ref();
        add(Figure::Baseline, bucket.map(|b| &b.baseline_bits_per_sec));
        add(Figure::Burst, bucket.map(|b| &b.burst_bits_per_sec));
        add(Figure::BurstDuration, bucket.map(|b| &b.burst_duration_ns));
        if BULK_KINDS.contains(&r.kind.as_str()) {
            add(Figure::Throughput, r.throughput_bits_per_sec.as_ref());
        } else {
            add(Figure::Transactions, r.transactions_per_sec.as_ref());
        }
        let own = r.rtt_percentiles.as_ref();
        add(Figure::P50, own.map(|p| &p.p50_ns));
        add(Figure::P90, own.map(|p| &p.p90_ns));
        add(Figure::P99, own.map(|p| &p.p99_ns));
        add(Figure::P99_9, own.map(|p| &p.p99_9_ns));
        row += 1;
    }
    for r in memory {
        let Some(kernel) = KERNELS.iter().find(|k| **k == r.kernel) else {
            continue;
        };
        let headline = r.headline();
        out.push(RowFigure {
            placement: r.size,
            test: MEMORY,
            kind: MEMORY,
            what: format!("{} {}", r.what(), headline.kind.name()),
            figure: Figure::Kernel(kernel),
            value: headline.value,
            chosen: true,
            row,
            generation,
        });
        row += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_a_test_and_a_figure_and_misfits_are_refused_with_the_figures() {
        let ok = |text: &str| FigureName::parse(text).unwrap();
        assert_eq!(ok("tcp-stream.baseline").figure, Figure::Baseline);
        assert_eq!(ok("tcp-rr.p99").figure, Figure::P99);
        assert_eq!(ok("tcp-rr.p99.9").figure, Figure::P99_9);
        assert_eq!(ok(" memory.triad ").figure, Figure::Kernel("triad"));
        let label = ok("upload until baseline.burst-duration");
        assert_eq!(
            (label.test.as_str(), label.figure),
            ("upload until baseline", Figure::BurstDuration)
        );
        assert_eq!(label.to_string(), "upload until baseline.burst-duration");
        let err = |text: &str| FigureName::parse(text).unwrap_err();
        let e = err("tcp-stream.goodput");
        assert!(e.contains("\"goodput\"") && e.contains("baseline"), "{e}");
        let e = err("tcp-rr.baseline");
        assert!(
            e.contains("tcp-rr has no baseline") && e.contains("p99"),
            "{e}"
        );
        let e = err("memory.p99");
        assert!(
            e.contains("memory has no p99") && e.contains("triad"),
            "{e}"
        );
        assert!(err("tcp-stream").contains("TEST.FIGURE"));
        assert!(err(".p99").contains("names no test"));
    }
}
