//! Markdown tables, for pasting into READMEs and issues.

use std::io::{self, Write};

use super::{footer, tables, Exporter};
use crate::summary::Merged;

/// GitHub-flavoured Markdown tables.
#[derive(Debug)]
pub(crate) struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn write(&self, doc: &Merged, out: &mut dyn Write) -> io::Result<()> {
        for t in tables(&doc.summary, true) {
            writeln!(out, "### {}\n", t.title)?;
            writeln!(out, "| {} |", t.headers.join(" | "))?;
            writeln!(out, "|{}", "---|".repeat(t.headers.len()))?;
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(|c| c.human.replace('|', "\\|")).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
            writeln!(out)?;
        }
        for l in footer(&doc.summary) {
            writeln!(out, "- {l}")?;
        }
        Ok(())
    }
}
