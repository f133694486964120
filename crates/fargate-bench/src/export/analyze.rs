//! `fargate-bench analyze` as text: one line per direction of an iperf3 run (`--json` writes
//! the analysis with [`super::write_json`]).

use std::io::{self, Write};
use std::path::Path;

use crate::analyze::SeriesAnalysis;

/// Writes what [`crate::analyze::analyze_file`] found in `file`: the series, how many
/// intervals it has and its regime (burst, bucket, baseline), in words.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_analysis(
    file: &Path,
    found: &[SeriesAnalysis],
    out: &mut dyn Write,
) -> io::Result<()> {
    for s in found {
        writeln!(
            out,
            "{} ({}, {} intervals): {}",
            file.display(),
            s.series,
            s.intervals,
            s.regime.describe()
        )?;
        if let Some(r) = &s.refill {
            writeln!(out, "  refill: {}", r.summary)?;
        }
    }
    Ok(())
}
