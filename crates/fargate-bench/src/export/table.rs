//! Aligned text for terminals.

use std::io::{self, Write};

use super::tables::{Cell, Tabular, NARROW_NOTE};
use super::{footer, tables, Exporter};
use crate::summary::Merged;

/// Aligned columns: by default about 120 wide (medians with ± half the range, the secondary
/// columns left out), as hyperfine and criterion keep theirs; `wide` prints every column with
/// ranges and intervals.
#[derive(Debug)]
pub(crate) struct TableExporter {
    pub(crate) wide: bool,
}

impl Exporter for TableExporter {
    fn write(&self, doc: &Merged, out: &mut dyn Write) -> io::Result<()> {
        for t in tables(&doc.summary, true) {
            write_aligned(out, &t, self.wide)?;
        }
        for l in footer(&doc.summary) {
            writeln!(out, "{l}")?;
        }
        if !self.wide {
            writeln!(out, "{NARROW_NOTE}")?;
        }
        Ok(())
    }
}

/// Writes one section: its title, then its columns aligned (the narrow or the wide set).
pub(crate) fn write_aligned(out: &mut dyn Write, t: &Tabular, wide: bool) -> io::Result<()> {
    writeln!(out, "{}", t.title)?;
    let shown: Vec<usize> = (0..t.headers.len())
        .filter(|&i| wide || t.narrow_shows(i))
        .collect();
    let text = |c: &Cell| -> String {
        if wide {
            c.human.clone()
        } else {
            c.short().to_owned()
        }
    };
    let headers: Vec<&str> = shown.iter().map(|&i| t.headers[i]).collect();
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|row| shown.iter().map(|&i| text(&row[i])).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
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
    writeln!(out, "  {}", line(headers))?;
    for row in &rows {
        writeln!(out, "  {}", line(row.iter().map(String::as_str).collect()))?;
    }
    writeln!(out)
}
