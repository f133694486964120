//! The one line a probe task prints at the end, and how the controller finds it again.
//!
//! Format: [`MARKER`], one space, the compact JSON of a [`Report`]. It survives pipes,
//! `docker logs` and CloudWatch Logs (whose awslogs driver splits a line into several events past
//! 262,118 bytes, hence [`MAX_LINE_BYTES`]); human-readable output goes before it or to stderr.

use std::collections::VecDeque;

use crate::error::{CoreError, Result};
use crate::report::{Report, SCHEMA_VERSION};

/// Marks the result line. Chosen so that no ordinary log line starts with it.
pub const MARKER: &str = "@@FARGATE-BENCH-RESULT@@";

/// Longest result line accepted or produced. CloudWatch Logs caps an event at 256 KiB including
/// 26 bytes of overhead per event (PutLogEvents in the API reference), so the awslogs driver
/// splits any line longer than 262,118 bytes into several events, and a split line would no
/// longer be one result line.
pub const MAX_LINE_BYTES: usize = 262_118;

/// How many trailing output lines an error quotes.
const QUOTED_LINES: usize = 12;

/// Encodes a report as its result line (without a trailing newline).
///
/// # Errors
/// [`CoreError::NonFiniteNumber`] if a field is `NaN` or infinite (JSON cannot carry it, and a
/// silent `null` would corrupt the result), [`CoreError::ResultLineTooLong`] over
/// [`MAX_LINE_BYTES`].
pub fn encode(report: &Report) -> Result<String> {
    let value = serde_json::to_value(report).expect("reports always serialize");
    // Every optional field is skipped when absent, so a null can only be a non-finite float.
    if let Some(path) = find_null(&value, "$") {
        return Err(CoreError::NonFiniteNumber { path });
    }
    let line = format!("{MARKER} {value}");
    if line.len() > MAX_LINE_BYTES {
        return Err(CoreError::ResultLineTooLong {
            len_bytes: line.len(),
            max_bytes: MAX_LINE_BYTES,
        });
    }
    Ok(line)
}

fn find_null(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Null => Some(path.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_null(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| find_null(v, &format!("{path}.{k}"))),
        _ => None,
    }
}

/// Decodes one result line (with its marker).
///
/// # Errors
/// A distinct [`CoreError`] for a missing marker, an oversize line, malformed JSON and an
/// unknown schema version.
pub fn decode(line: &str) -> Result<Report> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.len() > MAX_LINE_BYTES {
        return Err(CoreError::ResultLineTooLong {
            len_bytes: line.len(),
            max_bytes: MAX_LINE_BYTES,
        });
    }
    let Some(json) = line.trim_start().strip_prefix(MARKER) else {
        return Err(CoreError::NoResultLine {
            marker: MARKER,
            last_lines: line.chars().take(200).collect(),
        });
    };
    let malformed = |reason: String| CoreError::MalformedResultLine {
        reason,
        prefix: json.trim().chars().take(120).collect(),
    };
    // Check the version before the shape, so a newer report says "version" and not "field".
    let value: serde_json::Value =
        serde_json::from_str(json.trim()).map_err(|e| malformed(e.to_string()))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(found) => {
            return Err(CoreError::UnknownSchemaVersion {
                found,
                expected: SCHEMA_VERSION,
            })
        }
        None => return Err(malformed("no numeric `schema_version` field".into())),
    }
    serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
}

/// Finds and decodes the result line in a task's output. The last marked line wins.
///
/// # Errors
/// [`CoreError::NoResultLine`] quoting the last lines when none is marked; otherwise the error of
/// [`decode`] for the marked line.
pub fn find_in_lines<I, S>(lines: I) -> Result<Report>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut last_lines: VecDeque<String> = VecDeque::with_capacity(QUOTED_LINES);
    let mut found: Option<String> = None;
    for line in lines {
        let line = line.as_ref();
        if line.trim_start().starts_with(MARKER) {
            found = Some(line.to_owned());
            continue;
        }
        if last_lines.len() == QUOTED_LINES {
            last_lines.pop_front();
        }
        last_lines.push_back(line.chars().take(300).collect());
    }
    match found {
        Some(line) => decode(&line),
        None => Err(CoreError::NoResultLine {
            marker: MARKER,
            last_lines: if last_lines.is_empty() {
                "(no output at all)".to_owned()
            } else {
                Vec::from(last_lines).join("\n")
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::LatencyHistogram;
    use crate::report::{LatencyMetrics, Role};

    fn sample_report() -> Report {
        let mut rtt = LatencyHistogram::new();
        for v in [10_000, 11_000, 12_000, 50_000] {
            rtt.record(v);
        }
        let mut report = Report::new("netprobe", "0.1.0", Role::Client, "tcp-rr");
        report.set_parameter("message_bytes", 64);
        report.metrics.latency = Some(LatencyMetrics::closed_loop(rtt));
        report
    }

    #[test]
    fn encode_then_find_gives_the_same_report() {
        let report = sample_report();
        let line = encode(&report).unwrap();
        assert!(line.starts_with(MARKER));
        assert!(!line.contains('\n'));
        let output = ["starting", "measuring...", line.as_str(), ""];
        assert_eq!(find_in_lines(output).unwrap(), report);
    }

    #[test]
    fn missing_marker_quotes_the_last_lines() {
        let err = find_in_lines(["one", "error: connection refused"]).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, CoreError::NoResultLine { .. }));
        assert!(text.contains("connection refused"), "{text}");
    }

    #[test]
    fn empty_output_says_so() {
        let err = find_in_lines(Vec::<String>::new()).unwrap_err();
        assert!(err.to_string().contains("no output at all"));
    }

    #[test]
    fn malformed_json_is_its_own_error() {
        let err = find_in_lines([format!("{MARKER} {{\"schema_version\": 1, ")]).unwrap_err();
        assert!(
            matches!(err, CoreError::MalformedResultLine { .. }),
            "{err}"
        );
    }

    #[test]
    fn wrong_shape_is_malformed() {
        let err = decode(&format!("{MARKER} {{\"schema_version\": 1}}")).unwrap_err();
        assert!(
            matches!(err, CoreError::MalformedResultLine { .. }),
            "{err}"
        );
    }

    #[test]
    fn unknown_schema_version_is_its_own_error() {
        let err = decode(&format!("{MARKER} {{\"schema_version\": 99}}")).unwrap_err();
        assert!(
            matches!(err, CoreError::UnknownSchemaVersion { found: 99, .. }),
            "{err}"
        );
    }

    #[test]
    fn oversize_line_is_its_own_error() {
        let line = format!("{MARKER} {}", "x".repeat(MAX_LINE_BYTES));
        assert!(matches!(
            decode(&line),
            Err(CoreError::ResultLineTooLong { .. })
        ));
        let mut report = sample_report();
        report.warnings.push("w".repeat(MAX_LINE_BYTES));
        assert!(matches!(
            encode(&report),
            Err(CoreError::ResultLineTooLong { .. })
        ));
    }

    /// Issue 11, defect 9: awslogs splits at 262,118 bytes, so the longest report that encodes
    /// is exactly that long and one byte more is refused by both ends.
    #[test]
    fn the_line_limit_is_the_awslogs_split_point() {
        let mut report = sample_report();
        let base = encode(&report).unwrap().len();
        report.warnings.push(String::new());
        let with_empty = encode(&report).unwrap().len();
        let fill = MAX_LINE_BYTES - with_empty;
        report.warnings[0] = "w".repeat(fill);
        let line = encode(&report).unwrap();
        assert_eq!(line.len(), 262_118);
        assert!(decode(&line).is_ok());
        report.warnings[0].push('w');
        assert!(matches!(
            encode(&report),
            Err(CoreError::ResultLineTooLong {
                len_bytes: 262_119,
                max_bytes: 262_118
            })
        ));
        assert!(base < with_empty);
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_path() {
        let mut report = sample_report();
        report
            .metrics
            .latency
            .as_mut()
            .unwrap()
            .transactions_per_sec = f64::NAN;
        match encode(&report) {
            Err(CoreError::NonFiniteNumber { path }) => {
                assert_eq!(path, "$.metrics.latency.transactions_per_sec")
            }
            other => panic!("expected NonFiniteNumber, got {other:?}"),
        }
    }

    #[test]
    fn last_marked_line_wins() {
        let mut first = sample_report();
        first.run_id = Some("first".into());
        let mut second = sample_report();
        second.run_id = Some("second".into());
        let lines = [encode(&first).unwrap(), encode(&second).unwrap()];
        assert_eq!(
            find_in_lines(&lines).unwrap().run_id.as_deref(),
            Some("second")
        );
    }

    proptest::proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            run_id in "[a-z0-9-]{0,20}",
            values in proptest::collection::vec(1u64..1_000_000_000, 0..100),
            rate in 0.0f64..1e12,
            warnings in proptest::collection::vec(".{0,40}", 0..3),
            message_bytes in 0u64..1_000_000,
        ) {
            let mut rtt = LatencyHistogram::new();
            values.iter().for_each(|v| rtt.record(*v));
            let mut report = Report::new("netprobe", "0.1.0", Role::Server, "udp-rr");
            report.run_id = Some(run_id);
            report.set_parameter("message_bytes", message_bytes);
            let mut latency = LatencyMetrics::closed_loop(rtt);
            latency.transactions_per_sec = rate;
            report.metrics.latency = Some(latency);
            report.warnings = warnings;
            let line = encode(&report).unwrap();
            proptest::prop_assert!(!line.contains('\n'));
            proptest::prop_assert_eq!(decode(&line).unwrap(), report);
        }
    }
}
