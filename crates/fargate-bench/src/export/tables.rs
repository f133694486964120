//! One table builder per report section. The text, CSV, Markdown and HTML outputs all render
//! these, so a column exists once: people's formats read [`Cell::human`], machines'
//! [`Cell::raw`] (base units), and the terminal's default table [`Cell::brief`] without the
//! columns a section marks [`Tabular::wide_only`], so it fits 120 columns (`--wide` has all).

use probe_core::stats::SampleSummary;
use probe_core::units::{format_bits_per_sec, format_bytes, format_bytes_per_sec, format_ns};

use probe_core::refill::RefillVerdict;

use crate::summary::{direction_name, FigureKind, Summary, Unit};

/// A cell: scaled for people, and raw in base units for machines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub(crate) human: String,
    pub(crate) raw: String,
    /// A shorter form for the narrow table (the median with ± half the range, where `human`
    /// has the range and the interval); `None` when `human` is already short.
    pub(crate) brief: Option<String>,
}

impl Cell {
    pub(crate) fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            human: s.clone(),
            raw: s,
            brief: None,
        }
    }

    pub(crate) fn num(human: String, raw: f64) -> Cell {
        Cell {
            human,
            raw: format!("{raw}"),
            brief: None,
        }
    }

    /// What the narrow table prints.
    pub(crate) fn short(&self) -> &str {
        self.brief.as_deref().unwrap_or(&self.human)
    }

    /// Puts `prefix` before both human forms (`baseline 63 Mbit/s`).
    fn prefixed(mut self, prefix: &str) -> Cell {
        self.human = format!("{prefix}{}", self.human);
        self.brief = self.brief.map(|b| format!("{prefix}{b}"));
        self
    }

    pub(crate) fn count(n: u64) -> Cell {
        Cell::num(n.to_string(), n as f64)
    }

    pub(crate) fn empty() -> Cell {
        Cell::text("")
    }
}

/// One table of a report.
#[derive(Debug)]
pub(crate) struct Tabular {
    /// The section's title.
    pub(crate) title: &'static str,
    /// Column names.
    pub(crate) headers: Vec<&'static str>,
    /// Rows, as many cells as headers.
    pub(crate) rows: Vec<Vec<Cell>>,
    /// Columns the narrow terminal table leaves out (`--wide`, CSV, Markdown, HTML and JSON
    /// keep them): costs the section's neighbours already give, and secondary detail.
    pub(crate) wide_only: &'static [&'static str],
}

impl Tabular {
    /// Whether the narrow table shows column `i`.
    pub(crate) fn narrow_shows(&self, i: usize) -> bool {
        !self.wide_only.contains(&self.headers[i])
    }
}

/// The median with its range over repetitions and, with enough of them, the 95 % interval of
/// the median (order statistics): never the mean's interval, which can cross zero for a rate.
pub(crate) fn spread(s: &SampleSummary, fmt: impl Fn(f64) -> String) -> Cell {
    let human = if s.n == 1 {
        format!("{} (one repetition)", fmt(s.median))
    } else {
        let range = format!("{} [{} .. {}]", fmt(s.median), fmt(s.min), fmt(s.max));
        match s.median_ci95() {
            Some((lo, hi)) => format!("{range} (median 95% CI {} .. {})", fmt(lo), fmt(hi)),
            None => range,
        }
    };
    let mut cell = Cell::num(human, s.median);
    if s.n > 1 {
        cell.brief = Some(match half_range_percent(s) {
            Some(p) if p >= 10.0 => format!("{} ±{p:.0}%", fmt(s.median)),
            Some(p) => format!("{} ±{p:.1}%", fmt(s.median)),
            None => fmt(s.median),
        });
    }
    cell
}

/// Half the range over repetitions, in percent of the median (the narrow table's `±`).
fn half_range_percent(s: &SampleSummary) -> Option<f64> {
    (s.median > 0.0).then(|| (s.max - s.min) / 2.0 / s.median * 100.0)
}

/// The lines under the narrow table that say what it left out.
pub(crate) const NARROW_NOTE: &str = "figures are medians over repetitions, ± half their range \
    (series: bucket = burst then baseline);\n--wide adds the ranges, the median's 95% intervals \
    and the cost columns";

fn opt_num(v: Option<f64>, fmt: impl Fn(f64) -> String) -> Cell {
    v.map_or_else(Cell::empty, |v| Cell::num(fmt(v), v))
}

fn dollars(v: Option<f64>) -> Cell {
    opt_num(v, |v| format!("${v:.4}"))
}

fn one_decimal(v: Option<f64>) -> Cell {
    opt_num(v, |v| format!("{v:.1}"))
}

pub(crate) fn direction(d: Option<probe_core::report::Direction>) -> Cell {
    Cell::text(d.map(direction_name).unwrap_or_default())
}

/// Whether a latency working set is shown in human formats: powers of four from 4 KiB, one
/// point per two octaves (machine formats keep every point).
fn shown_to_people(working_set_bytes: u64) -> bool {
    working_set_bytes.is_power_of_two() && working_set_bytes.trailing_zeros().is_multiple_of(2)
}

/// Bulk network tests: each row's headline rate (the baseline where a bucket was found).
pub(crate) fn throughput(s: &Summary) -> Tabular {
    let rows = s
        .network
        .iter()
        .filter_map(|r| {
            let h = r.headline().filter(|h| h.unit == Unit::BitsPerSec)?;
            let mut figure = spread(h.value, format_bits_per_sec);
            if h.kind == FigureKind::Baseline {
                figure = figure.prefixed("baseline ");
            }
            Some(vec![
                Cell::text(&r.test),
                Cell::text(r.size.to_string()),
                direction(r.direction),
                Cell::count(r.repetitions),
                figure,
                opt_num(r.udp_loss_ratio, |v| format!("{:.3} %", v * 100.0)),
                opt_num(r.udp_receiver_drop_ratio, |v| format!("{:.3} %", v * 100.0)),
                r.udp_jitter_ns
                    .as_ref()
                    .map_or_else(Cell::empty, |j| Cell::num(format_ns(j.median), j.median)),
                opt_num(r.retransmits.map(|v| v as f64), |v| format!("{v:.0}")),
                dollars(r.cost_per_hour),
                one_decimal(r.gbit_per_sec_per_dollar_hour),
            ])
        })
        .collect();
    Tabular {
        title: "Network throughput (receiver, median [min .. max] over repetitions)",
        headers: vec![
            "test",
            "size",
            "direction",
            "reps",
            "throughput",
            "udp loss",
            "of it at receiver",
            "jitter",
            "retransmits",
            "$/h per task",
            "Gbit/s per $/h",
        ],
        rows,
        wide_only: &["of it at receiver", "$/h per task"],
    }
}

/// The token bucket each bulk row's series showed.
pub(crate) fn buckets(s: &Summary) -> Tabular {
    let rows = s
        .network
        .iter()
        .filter(|r| !r.regimes.is_empty())
        .map(|r| {
            let series = |name: &dyn Fn(&str) -> String| {
                r.regimes
                    .iter()
                    .map(|(v, n)| format!("{n}x {}", name(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // The narrow table calls the token-bucket series by its short name.
            let verdicts = Cell {
                brief: Some(series(&|v| match v {
                    "burst_then_baseline" => "bucket".to_owned(),
                    v => v.replace('_', " "),
                })),
                ..Cell::text(series(&|v| v.replace('_', " ")))
            };
            let b = r.bucket.as_ref();
            let secs = |ns: f64| format!("{:.1} s", ns / 1e9);
            let of = |f: &dyn Fn(&crate::summary::BucketRow) -> Cell| b.map_or_else(Cell::empty, f);
            vec![
                Cell::text(&r.test),
                Cell::text(r.size.to_string()),
                direction(r.direction),
                verdicts,
                of(&|b| spread(&b.burst_bits_per_sec, format_bits_per_sec)),
                of(&|b| spread(&b.burst_duration_ns, secs)),
                of(&|b| spread(&b.burst_bytes_above_baseline, |v| format_bytes(v as u64))),
                of(&|b| spread(&b.baseline_bits_per_sec, format_bits_per_sec)),
                one_decimal(b.and_then(|b| b.burst_gbit_per_sec_per_dollar_hour)),
                one_decimal(b.and(r.gbit_per_sec_per_dollar_hour)),
            ]
        })
        .collect();
    Tabular {
        title: "Burst and baseline (token bucket read from the interval samples)",
        headers: vec![
            "test",
            "size",
            "direction",
            "series",
            "burst",
            "burst lasted",
            "bucket",
            "baseline",
            "burst Gbit/s per $/h",
            "baseline Gbit/s per $/h",
        ],
        rows,
        // The baseline's per-dollar figure is the throughput table's headline.
        wide_only: &["burst Gbit/s per $/h", "baseline Gbit/s per $/h"],
    }
}

/// A span as people write an idle time: `4 s`, `1.5 s`, `5 min`, `2.5 h`.
fn span(ns: f64) -> String {
    let (value, unit) = match ns / 1e9 {
        s if s < 120.0 => (s, "s"),
        s if s < 7200.0 => (s / 60.0, "min"),
        s => (s / 3600.0, "h"),
    };
    if (value - value.round()).abs() < 0.05 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// How many repetitions gave each verdict, as a table cell reads it: `4x queues, 2x drops`.
pub(crate) fn verdict_counts(verdicts: &std::collections::BTreeMap<String, u64>) -> String {
    verdicts
        .iter()
        .map(|(v, n)| format!("{n}x {}", v.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A refill verdict in words.
fn refill_words(v: RefillVerdict) -> &'static str {
    match v {
        RefillVerdict::AtBaselineRate => "refills at about the baseline rate",
        RefillVerdict::FasterThanBaseline => "refills faster than the baseline",
        RefillVerdict::SlowerThanBaseline => "refills slower than the baseline",
        RefillVerdict::DoesNotRefill => "does not refill",
        RefillVerdict::Undetermined => "rate not determined",
        RefillVerdict::NoBucket => "no bucket to refill",
    }
}

/// Refill tests: the rate each drained bucket came back at, what each idle time gave back, and
/// the verdict.
pub(crate) fn refills(s: &Summary) -> Tabular {
    let rows = s
        .network
        .iter()
        .filter_map(|r| {
            let f = r.refill.as_ref()?;
            let rate = f
                .refill_bits_per_sec
                .as_ref()
                .map_or_else(Cell::empty, |x| {
                    let mut cell = spread(x, format_bits_per_sec);
                    // Under six readings the median has no interval: give the mean's.
                    if let (None, Some(lo), Some(hi)) = (x.median_ci95(), x.ci95_low, x.ci95_high) {
                        cell.human.push_str(&format!(
                            " (mean 95% CI {} .. {})",
                            format_bits_per_sec(lo.max(0.0)),
                            format_bits_per_sec(hi)
                        ));
                    }
                    cell
                });
            // The narrow table gives what the longest idle time gave back; the others are in
            // the wide one.
            let longest = f.idles.iter().max_by_key(|i| i.idle_ns);
            let recovered = |shares: bool| {
                f.idles
                    .iter()
                    .filter(|i| shares || longest.is_some_and(|l| l.idle_ns == i.idle_ns))
                    .map(|i| {
                        let mut text = format!(
                            "{}: {}",
                            span(i.idle_ns as f64),
                            format_bytes(i.recovered_bytes.median as u64)
                        );
                        if let Some(share) = i.share_of_bucket.as_ref().filter(|_| shares) {
                            text.push_str(&format!(" ({:.0}%)", share.median * 100.0));
                        }
                        if i.full > 0 {
                            text.push_str(" full");
                        }
                        text
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let verdict = refill_words(f.verdict);
            let counts = verdict_counts(&f.verdicts);
            Some(vec![
                Cell::text(&r.test),
                Cell::text(r.size.to_string()),
                direction(r.direction),
                Cell::count(f.repetitions),
                rate,
                opt_num(f.refill_to_baseline, |v| format!("{v:.2}x")),
                Cell {
                    brief: Some(recovered(false)),
                    ..Cell::text(recovered(true))
                },
                f.full_refill_ns
                    .as_ref()
                    .map_or_else(Cell::empty, |ns| spread(ns, span)),
                Cell::text(match f.saturates_at_bucket {
                    Some(true) => "at the bucket",
                    Some(false) => "short of it",
                    None => "",
                }),
                Cell {
                    brief: Some(
                        match f.verdict {
                            RefillVerdict::AtBaselineRate => "baseline rate",
                            RefillVerdict::FasterThanBaseline => "faster",
                            RefillVerdict::SlowerThanBaseline => "slower",
                            v => refill_words(v),
                        }
                        .to_owned(),
                    ),
                    ..Cell::text(if f.verdicts.len() > 1 {
                        format!("{verdict} ({counts})")
                    } else {
                        verdict.to_owned()
                    })
                },
            ])
        })
        .collect();
    Tabular {
        title: "Refill (bytes each re-burst sent above the baseline, over the idle time before it)",
        headers: vec![
            "test",
            "size",
            "direction",
            "reps",
            "refill rate",
            "of baseline",
            "recovered after idle",
            "full refill",
            "recovery stops",
            "verdict",
        ],
        rows,
        wide_only: &["full refill", "recovery stops"],
    }
}

/// Request/response tests: percentiles of the merged histograms and the transaction rate.
pub(crate) fn round_trips(s: &Summary) -> Tabular {
    let rows = s
        .network
        .iter()
        .filter_map(|r| {
            let h = r.rtt.as_ref()?;
            let ns = |v: u64| Cell::num(format_ns(v as f64), v as f64);
            Some(vec![
                Cell::text(&r.test),
                Cell::text(r.size.to_string()),
                Cell::count(r.repetitions),
                Cell::count(h.count),
                ns(h.p50_ns),
                ns(h.p90_ns),
                ns(h.p99_ns),
                ns(h.p99_9_ns),
                ns(h.max_ns),
                r.transactions_per_sec
                    .as_ref()
                    .map_or_else(Cell::empty, |t| {
                        spread(t, |v| Unit::TransactionsPerSec.format(v))
                    }),
                dollars(r.cost_per_hour),
            ])
        })
        .collect();
    Tabular {
        title: "Round trips (percentiles of all repetitions' merged histograms)",
        headers: vec![
            "test",
            "size",
            "reps",
            "count",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "transactions",
            "$/h per task",
        ],
        rows,
        wide_only: &["count"],
    }
}

/// Memory bandwidth per kernel, store variant and thread count.
pub(crate) fn memory_bandwidth(s: &Summary) -> Tabular {
    let rows = s
        .memory_bandwidth
        .iter()
        .map(|r| {
            let mut best = spread(&r.best_bytes_per_sec, format_bytes_per_sec);
            let mut sustained = Cell::num(
                format_bytes_per_sec(r.sustained_bytes_per_sec.median),
                r.sustained_bytes_per_sec.median,
            );
            if r.headline().kind == FigureKind::Sustained {
                best = best.prefixed("burst ");
                sustained.brief = Some(format!("{}, quota throttled", sustained.human));
                sustained.human = format!("{} (headline: CPU quota throttled)", sustained.human);
            }
            vec![
                Cell::text(r.size.to_string()),
                Cell::text(&r.kernel),
                Cell::text(&r.stores),
                Cell::count(u64::from(r.threads)),
                best,
                sustained,
                dollars(r.cost_per_hour),
                one_decimal(r.gb_per_sec_per_dollar_hour),
            ]
        })
        .collect();
    Tabular {
        title: "Memory bandwidth (best pass per repetition, STREAM accounting, GB/s = 10^9 B/s)",
        headers: vec![
            "size",
            "kernel",
            "stores",
            "threads",
            "best",
            "sustained",
            "$/h per task",
            "GB/s per $/h",
        ],
        rows,
        wide_only: &["$/h per task"],
    }
}

/// The memory latency curve; `compact` keeps one point per two octaves for people.
pub(crate) fn memory_latency(s: &Summary, compact: bool) -> Tabular {
    let rows = s
        .memory_latency
        .iter()
        .filter(|p| !compact || shown_to_people(p.working_set_bytes))
        .map(|p| {
            vec![
                Cell::text(p.size.to_string()),
                Cell::num(
                    format_bytes(p.working_set_bytes),
                    p.working_set_bytes as f64,
                ),
                Cell::text(if p.huge_pages { "yes" } else { "no" }),
                Cell::num(format!("{:.1}", p.ns_per_load.median), p.ns_per_load.median),
            ]
        })
        .collect();
    Tabular {
        title: "Memory latency (median ns per dependent load over repetitions)",
        headers: vec!["size", "working set", "huge pages", "ns per load"],
        rows,
        wide_only: &[],
    }
}

/// "Graviton or x86, at this size": each headline measured on both, per dollar.
pub(crate) fn architectures(s: &Summary) -> Tabular {
    let rows = s
        .architectures
        .iter()
        .map(|c| {
            let per_dollar = |v| opt_num(v, |v| c.unit.format_per_dollar(v));
            vec![
                Cell::text(&c.what),
                Cell::text(c.size.to_string()),
                Cell::num(c.unit.format(c.x86), c.x86),
                Cell::num(c.unit.format(c.arm), c.arm),
                per_dollar(c.x86_per_dollar_hour),
                per_dollar(c.arm_per_dollar_hour),
                opt_num(c.arm_over_x86_per_dollar, |v| format!("{v:.2}x")),
                Cell {
                    brief: Some(brief_verdict(&c.verdict)),
                    ..Cell::text(&c.verdict)
                },
            ]
        })
        .collect();
    Tabular {
        title: "Graviton or x86, at this size (the same figure on both; per $/h: Gbit/s, GB/s \
                or transactions/s per USD per task-hour)",
        headers: vec![
            "figure",
            "size",
            "X86_64",
            "ARM64",
            "X86_64 per $/h",
            "ARM64 per $/h",
            "ARM64/X86_64 per $",
            "verdict",
        ],
        rows,
        wide_only: &["X86_64 per $/h", "ARM64 per $/h"],
    }
}

/// The verdict's winner alone ("ARM64 (Graviton)", "even per dollar"), with the emulation
/// caveat kept short: the ratio column beside it says by how much.
fn brief_verdict(verdict: &str) -> String {
    let (core, emulated) = match verdict.split_once(" (under emulation") {
        Some((core, _)) => (core, true),
        None => (verdict, false),
    };
    let head = core.split_once(": ").map_or(core, |(winner, _)| winner);
    let head = head.split(" (within").next().unwrap_or(head);
    if emulated {
        format!("{head} (emulated)")
    } else {
        head.to_owned()
    }
}

/// Items that failed, with why.
pub(crate) fn failures(s: &Summary) -> Tabular {
    Tabular {
        title: "Failed items",
        headers: vec!["item", "reason"],
        rows: s
            .failures
            .iter()
            .map(|f| vec![Cell::text(&f.id), Cell::text(&f.reason)])
            .collect(),
        wide_only: &[],
    }
}

/// Every section that has rows, in report order; `compact` thins the latency curve for people.
pub(crate) fn tables(s: &Summary, compact: bool) -> Vec<Tabular> {
    [
        throughput(s),
        buckets(s),
        refills(s),
        super::loaded::latency_under_load(s),
        super::bucket_sharing::shared_buckets(s),
        round_trips(s),
        memory_bandwidth(s),
        memory_latency(s, compact),
        super::generations::figures(s),
        architectures(s),
        super::startup::startup(s),
        super::generations::shares(s),
        failures(s),
    ]
    .into_iter()
    .filter(|t| !t.rows.is_empty())
    .collect()
}
