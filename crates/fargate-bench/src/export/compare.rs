//! `fargate-bench compare A B` in each of its formats: a table, JSON, or one HTML page.

use std::io::{self, Write};

use super::Format;
use crate::compare::gate::{Checked, Outcome};
use crate::compare::Change;
use crate::summary::Summary;

/// The formats a comparison is written in; `compare --format` takes these.
pub const FORMATS: [Format; 3] = [Format::Table, Format::Json, Format::Html];

/// Writes the comparison of `a` and `b` ([`crate::compare::compare`] gives `changes`) in
/// `format`, one of [`FORMATS`].
///
/// # Errors
/// I/O errors of `out`; [`io::ErrorKind::InvalidInput`] for a format not in [`FORMATS`].
pub fn write_comparison(
    format: Format,
    a: &Summary,
    b: &Summary,
    changes: &[Change],
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(changes, out),
        Format::Json => super::write_json(&changes, out),
        Format::Html => out.write_all(super::html::compare::render(a, b, changes).as_bytes()),
        Format::Wide | Format::Csv | Format::Markdown | Format::Hgrm => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a comparison is written as table, json or html, not {format:?}"),
        )),
    }
}

/// Writes the comparison as a table: each metric, A, B, the change, its interval and the
/// verdict.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_table(changes: &[Change], out: &mut dyn Write) -> io::Result<()> {
    let width = changes
        .iter()
        .map(|c| c.metric.chars().count())
        .max()
        .unwrap_or(0)
        .max("metric".len());
    writeln!(
        out,
        "{:<width$}  {:>14}  {:>14}  {:>9}  {:<20}  verdict",
        "metric", "A", "B", "change", "interval"
    )?;
    for c in changes {
        writeln!(
            out,
            "{:<width$}  {:>14}  {:>14}  {:>9}  {:<20}  {}",
            c.metric,
            c.unit.format(c.a),
            c.unit.format(c.b),
            c.percent(),
            c.interval(),
            c.verdict.words()
        )?;
    }
    Ok(())
}

/// Writes the rows `--fail-if` checked, under the comparison: the rule, the figure, its
/// change and interval, and what the rule says of it.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_gate(checked: &[Checked], out: &mut dyn Write) -> io::Result<()> {
    let width = |f: &dyn Fn(&Checked) -> usize, header: &str| {
        checked.iter().map(f).max().unwrap_or(0).max(header.len())
    };
    let rule = width(&|c: &Checked| c.rule.chars().count(), "rule");
    let metric = width(&|c: &Checked| c.change.metric.chars().count(), "metric");
    writeln!(
        out,
        "\n--fail-if (a change crosses only when its whole interval is past the threshold)"
    )?;
    writeln!(
        out,
        "{:<rule$}  {:<metric$}  {:>9}  {:<20}  outcome",
        "rule", "metric", "change", "interval"
    )?;
    for c in checked {
        let outcome = match &c.outcome {
            Outcome::Crossed => "CROSSED".to_owned(),
            Outcome::Within => "within".to_owned(),
            Outcome::NotJudged(why) => format!("not judged: {why}"),
        };
        writeln!(
            out,
            "{:<rule$}  {:<metric$}  {:>9}  {:<20}  {outcome}",
            c.rule,
            c.change.metric,
            c.change.percent(),
            c.change.interval()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Verdict;
    use crate::summary::Unit;

    fn change() -> Change {
        Change {
            metric: "memory triad cached x1 best at 1x2".into(),
            unit: Unit::BytesPerSec,
            a: 13.0e9,
            b: 33.0e9,
            ratio: Some(33.0 / 13.0),
            ratio_interval: Some((30.0 / 16.0, 36.0 / 10.0)),
            verdict: Verdict::Higher,
        }
    }

    #[test]
    fn the_table_gives_the_change_and_the_verdict() {
        let mut out = Vec::new();
        write_table(&[change()], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("+153.8 %"), "{text}");
        assert!(text.contains("higher"), "{text}");
    }

    #[test]
    fn a_comparison_is_written_in_its_formats_only() {
        let summary = super::super::tests::fixed_document().summary;
        let mut json = Vec::new();
        write_comparison(Format::Json, &summary, &summary, &[change()], &mut json).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value[0]["verdict"], "higher");
        assert!(json.ends_with(b"}\n]\n"));
        let mut page = Vec::new();
        write_comparison(Format::Html, &summary, &summary, &[change()], &mut page).unwrap();
        assert!(String::from_utf8(page)
            .unwrap()
            .starts_with("<!DOCTYPE html>"));
        let e = write_comparison(Format::Csv, &summary, &summary, &[], &mut Vec::new());
        assert_eq!(e.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
