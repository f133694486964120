//! The whole summary as JSON (`schema_version`, run metadata, raw counts).

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
