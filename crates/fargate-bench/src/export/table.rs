//! Aligned text for terminals.

use std::io::{self, Write};

use super::{footer, tables, Exporter};
use crate::summary::Merged;

/// Aligned columns.
#[derive(Debug)]
pub(crate) struct TableExporter;

impl Exporter for TableExporter {
    fn write(&self, doc: &Merged, out: &mut dyn Write) -> io::Result<()> {
        for t in tables(&doc.summary, true) {
            writeln!(out, "{}", t.title)?;
            let mut widths: Vec<usize> = t.headers.iter().map(|h| h.len()).collect();
            for row in &t.rows {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.human.chars().count());
                }
            }
            let line = |cells: Vec<&str>| -> String {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_owned()
            };
            writeln!(out, "  {}", line(t.headers.clone()))?;
            for row in &t.rows {
                writeln!(
                    out,
                    "  {}",
                    line(row.iter().map(|c| c.human.as_str()).collect())
                )?;
            }
            writeln!(out)?;
        }
        for l in footer(&doc.summary) {
            writeln!(out, "{l}")?;
        }
        Ok(())
    }
}
