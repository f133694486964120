//! Every report format behind one trait, all reading the one merged document
//! ([`crate::summary::Merged`]): a table for terminals, JSON (with `schema_version` and run
//! metadata), CSV (base units), Markdown, the HTML page and HdrHistogram's `.hgrm`. The text,
//! CSV, Markdown and HTML tables come from one builder per section (`export/tables.rs`).

mod csv;
pub mod hgrm;
pub mod html;
mod json;
mod markdown;
mod table;
pub(crate) mod tables;
#[cfg(test)]
mod tests;

use std::io::{self, Write};

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
