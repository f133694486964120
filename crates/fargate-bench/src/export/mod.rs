//! Every report format behind one trait, all reading the one merged document
//! ([`crate::summary::Merged`]): a table for terminals, JSON (with `schema_version` and run
//! metadata), CSV (base units), Markdown, the HTML page and HdrHistogram's `.hgrm`. The text,
//! CSV, Markdown and HTML tables come from one builder per section (`export/tables.rs`).
//!
//! Every other output of the command line is written here too: the comparison of two runs
//! ([`compare`]), the sizes and their prices ([`sizes`]), the built-in suites ([`presets`]),
//! the analysis of an iperf3 run ([`analyze`]), a traffic profile's replay ([`simulate`]) and
//! the size that meets an operator's needs ([`recommend`]) and many runs of one suite over
//! time ([`history`]), each to an [`Output`].

pub mod analyze;
mod bucket_sharing;
pub mod compare;
mod csv;
pub(crate) mod generations;
pub mod hgrm;
pub mod history;
pub mod html;
mod json;
pub(crate) mod loaded;
mod markdown;
pub mod presets;
pub mod recommend;
pub mod simulate;
pub mod sizes;
mod startup;
mod table;
pub(crate) mod tables;
#[cfg(test)]
pub(crate) mod tests;

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{BenchError, Result};
use crate::summary::{Merged, Summary};

pub(crate) use tables::{tables, Tabular};

/// A report format: writes the merged document.
pub trait Exporter {
    /// Writes `doc`.
    ///
    /// # Errors
    /// I/O errors of `out`, or a format that has nothing to write (`.hgrm` of a run without
    /// round trips).
    fn write(&self, doc: &Merged, out: &mut dyn Write) -> io::Result<()>;
}

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for terminals, about 120 columns: medians with ± half their range.
    Table,
    /// The table with every column, the ranges and the median's 95% intervals (`--wide`).
    Wide,
    /// The full summary as JSON.
    Json,
    /// Comma-separated, base units.
    Csv,
    /// Markdown tables.
    Markdown,
    /// One self-contained HTML page with charts.
    Html,
    /// HdrHistogram percentile distributions of every merged latency histogram.
    Hgrm,
}

/// The exporter of `format` ([`write_document`] is the public way in).
pub(crate) fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(table::TableExporter { wide: false }),
        Format::Wide => Box::new(table::TableExporter { wide: true }),
        Format::Json => Box::new(json::JsonExporter),
        Format::Csv => Box::new(csv::CsvExporter),
        Format::Markdown => Box::new(markdown::MarkdownExporter),
        Format::Html => Box::new(html::HtmlExporter),
        Format::Hgrm => Box::new(hgrm::HgrmExporter),
    }
}

/// Writes `doc` in `format`.
///
/// # Errors
/// I/O errors of `out`; see [`Exporter::write`].
pub fn write_document(format: Format, doc: &Merged, out: &mut dyn Write) -> io::Result<()> {
    exporter(format).write(doc, out)
}

/// Writes `value` as pretty JSON and a newline (`compare --format json`, `analyze --json`,
/// `--dry-run`).
///
/// # Errors
/// I/O errors of `out`.
pub fn write_json(value: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Where an output goes: standard output or a file (`--output -` is standard output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output, locked while written and flushed after.
    Stdout,
    /// A file, created or truncated.
    File(PathBuf),
}

impl Output {
    /// The target an `--output` value names: `-` is standard output, anything else a file.
    pub fn from_arg(arg: &str) -> Output {
        if arg == "-" {
            Output::Stdout
        } else {
            Output::File(arg.into())
        }
    }

    /// Runs `write` on the target and flushes it (a file through a buffer).
    ///
    /// # Errors
    /// [`BenchError::Output`] when standard output fails (a closed pipe among others);
    /// [`BenchError::OutputFile`] naming the file that cannot be created or written.
    pub fn write(&self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        match self {
            Output::Stdout => {
                let mut out = io::stdout().lock();
                write(&mut out)
                    .and_then(|()| out.flush())
                    .map_err(BenchError::Output)
            }
            Output::File(path) => {
                let failed = |source| BenchError::OutputFile {
                    path: path.clone(),
                    source,
                };
                let mut out = io::BufWriter::new(File::create(path).map_err(failed)?);
                write(&mut out).and_then(|()| out.flush()).map_err(failed)
            }
        }
    }
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
                // The table the run was estimated with, when it is not the one applied now.
                let ran_with = s
                    .run
                    .prices_as_of
                    .as_ref()
                    .filter(|d| **d != p.as_of)
                    .map(|d| format!("; the run's estimate used the table of {d}"))
                    .unwrap_or_default();
                lines.push(format!(
                    "prices: {} {arch} {capacity}, as of {}{ran_with} (override with --prices \
                     FILE)",
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
