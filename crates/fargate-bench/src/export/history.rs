//! `fargate-bench history RESULTS...` in each of its formats: a table, JSON, or one HTML page.

use std::io::{self, Write};

use super::Format;
use crate::history::{FigureSeries, History, Point};

/// The formats a history is written in; `history --format` takes these.
pub const FORMATS: [Format; 3] = [Format::Table, Format::Json, Format::Html];

/// Writes `history` in `format`, one of [`FORMATS`].
///
/// # Errors
/// I/O errors of `out`; [`io::ErrorKind::InvalidInput`] for a format not in [`FORMATS`].
pub fn write_history(history: &History, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => write_table(history, out),
        Format::Json => super::write_json(history, out),
        Format::Html => out.write_all(super::html::history::render(history).as_bytes()),
        Format::Wide | Format::Csv | Format::Markdown | Format::Hgrm => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a history is written as table, json or html, not {format:?}"),
        )),
    }
}

/// A run's value in a cell: the median, and `v`/`^` when the intervals show it fell or rose
/// since the last run that had it.
pub(crate) fn cell(series: &FigureSeries, point: Option<&Point>) -> String {
    let Some(p) = point else {
        return "-".into();
    };
    let arrow = match p.step.as_ref().filter(|s| s.moved()).and_then(|s| s.ratio) {
        Some(r) if r < 1.0 => " v",
        Some(_) => " ^",
        None => "",
    };
    format!("{}{arrow}", series.unit.format(p.median))
}

/// Writes the history as a table: the runs, then one row per figure and size with a column
/// per run, then the moves and the changes of conditions in words.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_table(history: &History, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} runs of one suite, oldest first:",
        history.runs.len()
    )?;
    for (i, r) in history.runs.iter().enumerate() {
        writeln!(
            out,
            "  #{:<3} {}  {}  {}",
            i + 1,
            r.started_at,
            r.run_id,
            r.backend
        )?;
    }
    let names: Vec<String> = history
        .figures
        .iter()
        .map(|f| format!("{} at {}", f.metric, f.placement))
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max("figure".len());
    let cells: Vec<Vec<String>> = history
        .figures
        .iter()
        .map(|f| f.points.iter().map(|p| cell(f, p.as_ref())).collect())
        .collect();
    let col = cells
        .iter()
        .flatten()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(out)?;
    write!(out, "{:<width$}", "figure")?;
    for i in 0..history.runs.len() {
        write!(out, "  {:>col$}", format!("#{}", i + 1))?;
    }
    writeln!(out)?;
    for (name, row) in names.iter().zip(&cells) {
        write!(out, "{name:<width$}")?;
        for c in row {
            write!(out, "  {c:>col$}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "\nv / ^: fell / rose since the last run that had it, past both runs' 95 % intervals \
         (a move inside them is noise and is not marked); -: not in that run"
    )?;
    let moved: Vec<&FigureSeries> = history.moved().collect();
    if moved.is_empty() {
        writeln!(out, "no figure moved past its intervals")?;
    }
    for f in moved {
        for (i, p) in f.points.iter().enumerate() {
            let Some(step) = p
                .as_ref()
                .and_then(|p| p.step.as_ref())
                .filter(|s| s.moved())
            else {
                continue;
            };
            let percent = step
                .ratio
                .map(|r| format!("{:+.1} %", (r - 1.0) * 100.0))
                .unwrap_or_else(|| "from zero".into());
            writeln!(
                out,
                "moved: {} at {}: {percent} from run #{} to #{}",
                f.metric,
                f.placement,
                step.from_run + 1,
                i + 1
            )?;
        }
    }
    if history.changes.is_empty() {
        writeln!(
            out,
            "conditions: the same CPU models and platform versions under every size throughout"
        )?;
    }
    for c in &history.changes {
        writeln!(out, "conditions changed: {}", c.words())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::nightly;

    #[test]
    fn the_table_has_a_column_per_run_marks_the_fall_and_names_the_new_cpu() {
        let h = crate::history::history(&nightly()).unwrap();
        let mut out = Vec::new();
        write_history(&h, Format::Table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("3 runs of one suite, oldest first:"),
            "{text}"
        );
        let row = text
            .lines()
            .find(|l| l.starts_with("tcp-stream client->server baseline at 1x2 "))
            .unwrap();
        let cells: Vec<&str> = row
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(
            &cells[1..],
            ["63.00 Mbit/s", "-", "42.00 Mbit/s v"],
            "{row}"
        );
        assert!(text.contains(
            "moved: tcp-stream client->server baseline at 1x2: -33.3 % from run #1 to #3"
        ));
        assert!(text.contains(
            "conditions changed: 1x2: CPU Intel Xeon Platinum 8375C -> AMD EPYC 7R13 (from run #3)"
        ));
        let mut json = Vec::new();
        write_history(&h, Format::Json, &mut json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["runs"].as_array().unwrap().len(), 3);
        assert_eq!(v["changes"][0]["what"], "CPU");
        assert!(write_history(&h, Format::Csv, &mut Vec::new()).is_err());
    }
}
