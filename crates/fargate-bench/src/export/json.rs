//! The whole summary as JSON (`schema_version`, run metadata, raw counts).

use std::io::{self, Write};

use super::Exporter;
use crate::merge::Summary;

/// Pretty JSON.
#[derive(Debug)]
pub(crate) struct JsonExporter;

impl Exporter for JsonExporter {
    fn write(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, summary)?;
        writeln!(out)
    }
}
