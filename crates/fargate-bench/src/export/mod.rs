//! Report formats behind one trait: a table for terminals, JSON (with `schema_version` and run
//! metadata), CSV (base units) and Markdown. `-` means stdout.

mod csv;
pub mod hgrm;
pub mod html;
mod json;
mod markdown;
mod table;

use std::io::{self, Write};

use probe_core::report::Direction;
use probe_core::stats::SampleSummary;
use probe_core::units::{format_bits_per_sec, format_bytes, format_bytes_per_sec, format_ns};

use crate::merge::Summary;

/// A report format.
pub trait Exporter {
    /// Writes the summary.
    ///
    /// # Errors
    /// I/O errors of `out`.
    fn write(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()>;
}

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for terminals.
    Table,
    /// The full summary as JSON.
    Json,
    /// Comma-separated, base units.
    Csv,
    /// Markdown tables.
    Markdown,
    /// One self-contained HTML page with charts (needs the records: [`write_document`]).
    Html,
    /// HdrHistogram percentile distributions of every merged latency histogram
    /// (needs the records: [`write_document`]).
    Hgrm,
}

/// Writes `summary` (merged from `records`) in `format`: the one entry point for every format,
/// since the page and the histograms need the records, not only the summary.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_document(
    format: Format,
    summary: &Summary,
    records: &[crate::store::ItemRecord],
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Html => out.write_all(html::render(summary, records).as_bytes()),
        Format::Hgrm => {
            let merged = html::merged_latency(records);
            if merged.is_empty() {
                return Err(io::Error::other(
                    "no latency histogram in this run (no tcp-rr, udp-rr or tcp-crr test)",
                ));
            }
            for ((size, label), (rtt, raw)) in merged {
                writeln!(out, "# {label} at {size}: round trips, microseconds")?;
                out.write_all(hgrm::percentile_distribution(&rtt).as_bytes())?;
                if let Some(raw) = raw {
                    writeln!(
                        out,
                        "\n# {label} at {size}: raw (uncorrected), microseconds"
                    )?;
                    out.write_all(hgrm::percentile_distribution(&raw).as_bytes())?;
                }
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Table => table::TableExporter.write(summary, out),
        Format::Json => json::JsonExporter.write(summary, out),
        Format::Csv => csv::CsvExporter.write(summary, out),
        Format::Markdown => markdown::MarkdownExporter.write(summary, out),
    }
}

/// The exporter of a format that needs only the summary; `None` for [`Format::Html`] and
/// [`Format::Hgrm`], which need the records too: call [`write_document`] for those (or for any
/// format).
pub fn exporter(format: Format) -> Option<Box<dyn Exporter>> {
    match format {
        Format::Table => Some(Box::new(table::TableExporter)),
        Format::Json => Some(Box::new(json::JsonExporter)),
        Format::Csv => Some(Box::new(csv::CsvExporter)),
        Format::Markdown => Some(Box::new(markdown::MarkdownExporter)),
        Format::Html | Format::Hgrm => None,
    }
}

/// A cell: scaled for people, and raw in base units for machines.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub(crate) human: String,
    pub(crate) raw: String,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            human: s.clone(),
            raw: s,
        }
    }

    fn num(human: String, raw: f64) -> Cell {
        Cell {
            human,
            raw: format!("{raw}"),
        }
    }

    fn empty() -> Cell {
        Cell::text("")
    }
}

/// One table of a report.
#[derive(Debug)]
pub(crate) struct Tabular {
    pub(crate) title: &'static str,
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<Cell>>,
}

fn spread(s: &SampleSummary, fmt: impl Fn(f64) -> String) -> Cell {
    let human = match (s.ci95_low, s.ci95_high) {
        (Some(lo), Some(hi)) => format!(
            "{} [{} .. {}] (95% CI {} .. {})",
            fmt(s.median),
            fmt(s.min),
            fmt(s.max),
            fmt(lo),
            fmt(hi)
        ),
        _ => fmt(s.median),
    };
    Cell::num(human, s.median)
}

fn opt_num(v: Option<f64>, fmt: impl Fn(f64) -> String) -> Cell {
    v.map_or_else(Cell::empty, |v| Cell::num(fmt(v), v))
}

fn direction(d: Option<Direction>) -> Cell {
    Cell::text(match d {
        Some(Direction::ClientToServer) => "client->server",
        Some(Direction::ServerToClient) => "server->client",
        None => "",
    })
}

/// Whether a latency working set is shown in human formats: powers of four from 4 KiB, one
/// point per two octaves (machine formats keep every point).
fn shown_to_people(working_set_bytes: u64) -> bool {
    working_set_bytes.is_power_of_two() && working_set_bytes.trailing_zeros().is_multiple_of(2)
}

/// The tables every format shows; `compact` thins the latency curve for people.
pub(crate) fn tables(s: &Summary, compact: bool) -> Vec<Tabular> {
    let mut out = Vec::new();
    let throughput: Vec<Vec<Cell>> = s
        .network
        .iter()
        .filter_map(|r| {
            let (label, t) = r.headline()?;
            let mut figure = spread(t, format_bits_per_sec);
            if label == "baseline" {
                figure.human = format!("baseline {}", figure.human);
            }
            Some(vec![
                Cell::text(&r.test),
                Cell::text(&r.size),
                direction(r.direction),
                Cell::num(r.repetitions.to_string(), r.repetitions as f64),
                figure,
                opt_num(r.udp_loss_ratio, |v| format!("{:.3} %", v * 100.0)),
                opt_num(r.udp_receiver_drop_ratio, |v| format!("{:.3} %", v * 100.0)),
                r.udp_jitter_ns
                    .as_ref()
                    .map_or_else(Cell::empty, |j| Cell::num(format_ns(j.median), j.median)),
                opt_num(r.retransmits.map(|v| v as f64), |v| format!("{v:.0}")),
                opt_num(r.cost_per_hour, |v| format!("${v:.4}")),
                opt_num(r.gbit_per_sec_per_dollar_hour, |v| format!("{v:.1}")),
            ])
        })
        .collect();
    if !throughput.is_empty() {
        out.push(Tabular {
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
            rows: throughput,
        });
    }
    let buckets: Vec<Vec<Cell>> = s
        .network
        .iter()
        .filter(|r| !r.regimes.is_empty())
        .map(|r| {
            let verdicts = r
                .regimes
                .iter()
                .map(|(v, n)| format!("{n}x {}", v.replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", ");
            let b = r.bucket.as_ref();
            let secs = |ns: f64| format!("{:.1} s", ns / 1e9);
            vec![
                Cell::text(&r.test),
                Cell::text(&r.size),
                direction(r.direction),
                Cell::text(verdicts),
                b.map_or_else(Cell::empty, |b| {
                    spread(&b.burst_bits_per_sec, format_bits_per_sec)
                }),
                b.map_or_else(Cell::empty, |b| spread(&b.burst_duration_ns, secs)),
                b.map_or_else(Cell::empty, |b| {
                    spread(&b.burst_bytes_above_baseline, |v| format_bytes(v as u64))
                }),
                b.map_or_else(Cell::empty, |b| {
                    spread(&b.baseline_bits_per_sec, format_bits_per_sec)
                }),
                opt_num(b.and_then(|b| b.burst_gbit_per_sec_per_dollar_hour), |v| {
                    format!("{v:.1}")
                }),
                opt_num(b.and(r.gbit_per_sec_per_dollar_hour), |v| format!("{v:.1}")),
            ]
        })
        .collect();
    if !buckets.is_empty() {
        out.push(Tabular {
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
            rows: buckets,
        });
    }
    let latency: Vec<Vec<Cell>> = s
        .network
        .iter()
        .filter_map(|r| {
            let h = r.rtt.as_ref()?;
            let ns = |v: u64| Cell::num(format_ns(v as f64), v as f64);
            Some(vec![
                Cell::text(&r.test),
                Cell::text(&r.size),
                Cell::num(r.repetitions.to_string(), r.repetitions as f64),
                Cell::num(h.count.to_string(), h.count as f64),
                ns(h.p50_ns),
                ns(h.p90_ns),
                ns(h.p99_ns),
                ns(h.p99_9_ns),
                ns(h.max_ns),
                r.transactions_per_sec
                    .as_ref()
                    .map_or_else(Cell::empty, |t| spread(t, |v| format!("{v:.0}/s"))),
                opt_num(r.cost_per_hour, |v| format!("${v:.4}")),
            ])
        })
        .collect();
    if !latency.is_empty() {
        out.push(Tabular {
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
            rows: latency,
        });
    }
    if !s.memory_bandwidth.is_empty() {
        out.push(Tabular {
            title:
                "Memory bandwidth (best pass per repetition, STREAM accounting, GB/s = 10^9 B/s)",
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
            rows: s
                .memory_bandwidth
                .iter()
                .map(|r| {
                    let mut best = spread(&r.best_bytes_per_sec, format_bytes_per_sec);
                    let mut sustained = Cell::num(
                        format_bytes_per_sec(r.sustained_bytes_per_sec.median),
                        r.sustained_bytes_per_sec.median,
                    );
                    if r.quota_throttled {
                        best.human = format!("burst {}", best.human);
                        sustained.human =
                            format!("{} (headline: CPU quota throttled)", sustained.human);
                    }
                    vec![
                        Cell::text(&r.size),
                        Cell::text(&r.kernel),
                        Cell::text(&r.stores),
                        Cell::num(r.threads.to_string(), f64::from(r.threads)),
                        best,
                        sustained,
                        opt_num(r.cost_per_hour, |v| format!("${v:.4}")),
                        opt_num(r.gb_per_sec_per_dollar_hour, |v| format!("{v:.1}")),
                    ]
                })
                .collect(),
        });
    }
    if !s.memory_latency.is_empty() {
        out.push(Tabular {
            title: "Memory latency (median ns per dependent load over repetitions)",
            headers: vec!["size", "working set", "huge pages", "ns per load"],
            rows: s
                .memory_latency
                .iter()
                .filter(|p| !compact || shown_to_people(p.working_set_bytes))
                .map(|p| {
                    vec![
                        Cell::text(&p.size),
                        Cell::num(
                            format_bytes(p.working_set_bytes),
                            p.working_set_bytes as f64,
                        ),
                        Cell::text(if p.huge_pages { "yes" } else { "no" }),
                        Cell::num(format!("{:.1}", p.ns_per_load.median), p.ns_per_load.median),
                    ]
                })
                .collect(),
        });
    }
    if !s.architectures.is_empty() {
        out.push(Tabular {
            title: "Graviton or x86, at this size (the same figure on both; per $/h: \
                    Gbit/s, GB/s or transactions/s per USD per task-hour)",
            headers: crate::versus::COLUMNS.to_vec(),
            rows: s
                .architectures
                .iter()
                .map(|c| {
                    vec![
                        Cell::text(&c.what),
                        Cell::text(&c.size),
                        Cell::num(c.format_figure(c.x86), c.x86),
                        Cell::num(c.format_figure(c.arm), c.arm),
                        opt_num(c.x86_per_dollar_hour, |v| c.format_per_dollar(v)),
                        opt_num(c.arm_per_dollar_hour, |v| c.format_per_dollar(v)),
                        opt_num(c.arm_over_x86_per_dollar, |v| format!("{v:.2}x")),
                        Cell::text(&c.verdict),
                    ]
                })
                .collect(),
        });
    }
    if !s.failures.is_empty() {
        out.push(Tabular {
            title: "Failed items",
            headers: vec!["item", "reason"],
            rows: s
                .failures
                .iter()
                .map(|f| vec![Cell::text(&f.id), Cell::text(&f.reason)])
                .collect(),
        });
    }
    out
}

/// Lines under the tables: run, prices, emulation.
pub(crate) fn footer(s: &Summary) -> Vec<String> {
    let mut lines = vec![format!(
        "run {} on the {} backend, {} items ok, {} failed",
        s.run.run_id,
        s.run.backend,
        s.items_ok,
        s.failures.len()
    )];
    if let Some(p) = &s.pricing {
        let capacity = match p.capacity {
            crate::sizes::Capacity::OnDemand => "on-demand Fargate",
            crate::sizes::Capacity::Spot => "FARGATE_SPOT (Spot prices move)",
        };
        match &p.unknown {
            Some(why) => lines.push(format!("prices: {why} (pass --prices FILE)")),
            None => {
                // A run over both architectures priced each row at its own.
                let arch = if s.architectures.is_empty() {
                    p.arch.ecs_name()
                } else {
                    "X86_64 and ARM64"
                };
                lines.push(format!(
                    "prices: {} {arch} {capacity}, as of {} (override with --prices FILE)",
                    p.region, p.as_of
                ));
            }
        }
    }
    for e in &s.emulated {
        lines.push(format!("emulated: {e}"));
    }
    for w in &s.warnings {
        lines.push(format!("warning: {w}"));
    }
    lines
}
