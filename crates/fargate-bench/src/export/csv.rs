//! CSV in base units (bits/s, bytes/s, ns), one section per table.

use std::io::{self, Write};

use super::{tables, Exporter};
use crate::summary::Merged;

/// Comma-separated values.
#[derive(Debug)]
pub(crate) struct CsvExporter;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Exporter for CsvExporter {
    fn write(&self, doc: &Merged, out: &mut dyn Write) -> io::Result<()> {
        for t in tables(&doc.summary, false) {
            let headers: Vec<String> = std::iter::once("table")
                .chain(t.headers.iter().copied())
                .map(field)
                .collect();
            writeln!(out, "{}", headers.join(","))?;
            for row in &t.rows {
                let cells: Vec<String> = std::iter::once(field(t.title))
                    .chain(row.iter().map(|c| field(&c.raw)))
                    .collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
        Ok(())
    }
}
