//! The start-up table (issue 25, item 3): per size, architecture and capacity, how long tasks
//! took from the launch request to running, with the image pull apart.

use super::tables::{Cell, Tabular};
use crate::summary::{Distribution, Summary};

/// Milliseconds as people read them: `850 ms`, `12.3 s`.
fn human_ms(ms: f64) -> String {
    if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1_000.0)
    }
}

fn ms(v: f64) -> Cell {
    Cell::num(human_ms(v), v)
}

fn or_empty(d: Option<Distribution>, pick: impl Fn(&Distribution) -> f64) -> Cell {
    d.map_or_else(Cell::empty, |d| ms(pick(&d)))
}

/// Every placement's start-up distribution.
pub(crate) fn startup(s: &Summary) -> Tabular {
    let rows = s
        .startup
        .iter()
        .map(|r| {
            vec![
                Cell::text(r.size.to_string()),
                Cell::text(r.capacity.map_or("", |c| c.provider())),
                Cell::num(r.tasks.to_string(), r.tasks as f64),
                ms(r.startup_ms.median),
                ms(r.startup_ms.p90),
                ms(r.startup_ms.max),
                or_empty(r.pull_ms, |d| d.median),
                or_empty(r.pull_ms, |d| d.p90),
                or_empty(r.pull_ms, |d| d.max),
                ms(r.startup_without_pull_ms.median),
            ]
        })
        .collect();
    Tabular {
        title: "Start-up (launch request to running, per task; the image pull apart)",
        headers: vec![
            "size",
            "capacity",
            "tasks",
            "median",
            "p90",
            "max",
            "pull median",
            "pull p90",
            "pull max",
            "without pull",
        ],
        rows,
        wide_only: &["pull p90", "without pull"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::fixed_document;
    use crate::export::{write_document, Format};
    use crate::sizes::Capacity;
    use crate::summary::StartupRow;

    fn d(median: f64, p90: f64, max: f64) -> Distribution {
        Distribution { median, p90, max }
    }

    /// Issue 25, item 3: the text report shows each placement's start-up with the pull apart,
    /// and the price table the run's estimate used when the report prices with another.
    #[test]
    fn the_report_shows_start_up_per_placement_and_the_runs_price_date() {
        let mut doc = fixed_document();
        doc.summary.startup = vec![StartupRow {
            size: "1x2".parse().unwrap(),
            arch: None,
            capacity: Some(Capacity::Spot),
            tasks: 12,
            startup_ms: d(31_400.0, 48_000.0, 61_300.0),
            pull_ms: Some(d(9_100.0, 12_000.0, 20_500.0)),
            startup_without_pull_ms: d(22_000.0, 30_000.0, 41_000.0),
        }];
        doc.summary.run.prices_as_of = Some("2026-10-01".into());
        let mut out = Vec::new();
        write_document(Format::Wide, &doc, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text
            .lines()
            .find(|l| l.contains("FARGATE_SPOT"))
            .unwrap_or_else(|| panic!("no start-up row in\n{text}"));
        for cell in [
            "1x2", "12", "31.4 s", "48.0 s", "61.3 s", "9.1 s", "20.5 s", "22.0 s",
        ] {
            assert!(row.contains(cell), "{cell} missing from {row}");
        }
        assert!(
            text.contains("as of 2026-11-01; the run's estimate used the table of 2026-10-01"),
            "{text}"
        );
        // Priced with the table it ran with: nothing more to say.
        doc.summary.run.prices_as_of = Some("2026-11-01".into());
        let mut out = Vec::new();
        write_document(Format::Table, &doc, &mut out).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("estimate used"));
    }

    #[test]
    fn times_read_in_milliseconds_below_a_second_and_seconds_above() {
        assert_eq!(human_ms(850.0), "850 ms");
        assert_eq!(human_ms(12_345.0), "12.3 s");
        assert_eq!(ms(1_500.0).raw, "1500");
    }
}
