//! `fargate-bench presets`: the built-in suites, listed or printed to copy and edit.

use std::io::{self, Write};

use crate::suite::PRESETS;

/// Writes one line per preset (name and what it measures), or, given a name, that preset's
/// TOML (nothing for a name that is not a preset: check it with [`crate::Suite::preset`]).
///
/// # Errors
/// I/O errors of `out`.
pub fn write_presets(name: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    match name {
        None => {
            for (name, what, _) in PRESETS {
                writeln!(out, "{name:<16} {what}")?;
            }
            Ok(())
        }
        Some(name) => {
            let text = PRESETS
                .iter()
                .find(|(n, _, _)| *n == name)
                .map_or("", |(_, _, text)| text);
            out.write_all(text.as_bytes())
        }
    }
}
