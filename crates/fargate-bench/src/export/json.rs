//! The whole summary as JSON (`schema_version`, run metadata, raw counts).
//!
//! Its shape is committed as a JSON Schema (draft 2020-12),
//! `crates/fargate-bench/schema/summary.schema.json`, and `tests/fargate-bench/schema.rs`
//! validates what this exporter writes against it: a field added, renamed or removed in
//! [`crate::summary`] changes the schema in the same commit, and a change that breaks readers
//! bumps [`crate::summary::SUMMARY_SCHEMA_VERSION`].

use std::io::{self, Write};

use super::Exporter;
use crate::summary::Merged;

/// Pretty JSON.
#[derive(Debug)]
pub(crate) struct JsonExporter;

impl Exporter for JsonExporter {
    fn write(&self, doc: &Merged, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &doc.summary)?;
        writeln!(out)
    }
}
