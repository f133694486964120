//! The one error type of this crate.

use std::path::PathBuf;

/// An error and every cause under it, on one line (`a: b: c`), each said once: for messages
/// that keep no error chain (a record's reason, a control-channel `Failed`).
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        // Some errors repeat their cause in their own message; say each thing once.
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// Shorthand for results whose error is [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in `probe-core`.
///
/// Result-line failures are distinct variants so the controller can say precisely why a task's
/// output was unusable; each quotes the last lines it saw, since those usually hold the probe's
/// own error message.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No line of the output started with the result marker.
    #[error(
        "no result line (a line starting with `{marker}`) in the task output; the probe probably \
         failed before finishing. Last lines seen:\n{last_lines}"
    )]
    NoResultLine {
        /// The marker that was searched for.
        marker: &'static str,
        /// The last lines of output, newline-joined.
        last_lines: String,
    },
    /// The result line was found but its JSON did not parse as a report.
    #[error("malformed result line: {reason}; the line began with: {prefix}")]
    MalformedResultLine {
        /// Why parsing failed (serde_json's message, with line and column).
        reason: String,
        /// The first characters of the offending line.
        prefix: String,
    },
    /// The report carries a schema version this build does not understand.
    #[error(
        "result line has schema_version {found}, this build reads version {expected}; use probe \
         images and controller from the same release"
    )]
    UnknownSchemaVersion {
        /// The version in the line.
        found: u64,
        /// The version this build understands.
        expected: u32,
    },
    /// The result line exceeded the transport-safe size.
    #[error(
        "result line is {len_bytes} bytes, over the {max_bytes}-byte limit that log transports \
         carry intact; reduce per-interval samples or streams"
    )]
    ResultLineTooLong {
        /// Length of the offending line.
        len_bytes: usize,
        /// The limit.
        max_bytes: usize,
    },
    /// A report to be encoded contained a non-finite number, which JSON cannot represent.
    #[error("report field `{path}` is not a finite number; this is a probe bug, please report it")]
    NonFiniteNumber {
        /// JSON path of the field.
        path: String,
    },
    /// A histogram could not be decoded from its base64 V2+DEFLATE form.
    #[error("cannot decode histogram: {reason}")]
    HistogramDecode {
        /// What was wrong.
        reason: String,
    },
    /// Two histograms could not be merged.
    #[error("cannot merge histograms: {reason}")]
    HistogramMerge {
        /// What was wrong.
        reason: String,
    },
    /// Reading a host fact from a file failed.
    #[error("cannot read {path}")]
    ReadHostFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A statistic was asked of an empty sample.
    #[error("cannot summarise an empty sample of `{what}`")]
    EmptySample {
        /// What the sample measured.
        what: String,
    },
    /// A quantity (`128K`, `1G`) could not be parsed.
    #[error("{text:?} {why}")]
    Quantity {
        /// As written.
        text: String,
        /// What is wrong, with an example of a valid one.
        why: String,
    },
    /// A probe option has a value no probe accepts.
    #[error("{option} {value:?} {why}")]
    InvalidOption {
        /// The flag (`--length`), as in `netprobe client --help`.
        option: &'static str,
        /// As given.
        value: String,
        /// What is wrong and the valid range.
        why: String,
    },
    /// The options make a request a netprobe server would refuse.
    #[error(transparent)]
    InvalidRequest(crate::contract::Refusal),
}
