//! `fargate-bench simulate`: a profile's replay on each size, as a table, JSON or an HTML page
//! that draws each size's traffic and bucket over time.

use std::io::{self, Write};

use probe_core::units::{format_bits_per_sec, format_bytes};

use super::table::write_aligned;
use super::tables::{Cell, Tabular};
use super::{write_json, Format};
use crate::simulate::{Simulation, SizeOutcome};

/// The formats `simulate --format` takes.
pub const FORMATS: [Format; 4] = [Format::Table, Format::Wide, Format::Json, Format::Html];

/// Writes `sim` as a table (`table`, `wide`), JSON (`json`) or a page (`html`); the other
/// formats are refused where the flags are read.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_simulation(sim: &Simulation, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => return write_json(sim, out),
        Format::Html => return out.write_all(super::html::simulate::render(sim).as_bytes()),
        _ => {}
    }
    let wide = format == Format::Wide;
    writeln!(
        out,
        "Traffic profile {:?}: {}, {} offered, at most {}\nreplayed against each size's {} \
         bucket\n",
        sim.profile,
        duration(sim.profile_secs),
        format_bytes(sim.offered_bytes as u64),
        format_bits_per_sec(sim.peak_bits_per_sec),
        sim.direction
    )?;
    write_aligned(out, &replays(sim), wide)?;
    let unread: Vec<&SizeOutcome> = sim.sizes.iter().filter(|s| s.bucket.is_none()).collect();
    if !unread.is_empty() {
        write_aligned(out, &not_simulated(&unread), wide)?;
    }
    match (
        &sim.cheapest_unthrottled,
        sim.sizes.iter().any(SizeOutcome::never_throttled),
    ) {
        (Some(size), _) => {
            let cost = sim
                .sizes
                .iter()
                .find(|s| s.size == *size)
                .and_then(|s| s.cost_usd)
                .unwrap_or(f64::NAN);
            writeln!(
                out,
                "cheapest size that never throttles it: {size} (${cost:.4} over the profile)"
            )?
        }
        (None, true) => writeln!(
            out,
            "sizes that never throttle it have no price: pass --prices FILE to compare cost"
        )?,
        (None, false) => writeln!(
            out,
            "no measured size serves it without a queue: measure larger sizes, or spread the \
             traffic"
        )?,
    }
    for a in &sim.assumptions {
        writeln!(out, "assumed: {a}")?;
    }
    Ok(())
}

/// Seconds as people read a span: `0 s`, `8.9 s`, `5m 12s`, `2h 03m`.
fn duration(secs: f64) -> String {
    if secs == 0.0 {
        "0 s".into()
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{}m {:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (secs / 3600.0) as u64,
            ((secs % 3600.0) / 60.0) as u64
        )
    }
}

fn secs_cell(secs: f64) -> Cell {
    Cell::num(duration(secs), secs)
}

fn bytes_cell(bytes: f64) -> Cell {
    Cell::num(format_bytes(bytes as u64), bytes)
}

pub(crate) fn replays(sim: &Simulation) -> Tabular {
    let rows = sim
        .sizes
        .iter()
        .filter_map(|s| {
            let (b, o) = (s.bucket.as_ref()?, s.outcome.as_ref()?);
            let rate = format_bits_per_sec(b.refill_bits_per_sec);
            let refill = Cell {
                brief: Some(if b.refill_assumed {
                    "= baseline".to_owned()
                } else {
                    rate.clone()
                }),
                ..Cell::num(
                    if b.refill_assumed {
                        format!("{rate} (assumed = baseline)")
                    } else {
                        format!("{rate} (measured)")
                    },
                    b.refill_bits_per_sec,
                )
            };
            let verdict = if o.throttled_secs == 0.0 {
                "never throttled".to_owned()
            } else if o.over_burst_secs > 0.0 {
                "throttled; over the burst rate too".to_owned()
            } else {
                "throttled".to_owned()
            };
            Some(vec![
                Cell::text(s.size.to_string()),
                Cell::num(
                    format_bits_per_sec(b.burst_bits_per_sec),
                    b.burst_bits_per_sec,
                ),
                bytes_cell(b.bucket_bytes),
                Cell::num(
                    format_bits_per_sec(b.baseline_bits_per_sec),
                    b.baseline_bits_per_sec,
                ),
                refill,
                secs_cell(o.throttled_secs),
                secs_cell(o.over_burst_secs),
                bytes_cell(o.bytes_delayed),
                bytes_cell(o.max_backlog_bytes),
                secs_cell(o.max_backlog_at_secs),
                secs_cell(o.longest_backlog_secs),
                secs_cell(o.delivered_by_secs),
                s.cost_usd
                    .map_or_else(Cell::empty, |c| Cell::num(format!("${c:.4}"), c)),
                Cell::text(verdict),
            ])
        })
        .collect();
    Tabular {
        title: "Replayed on each size's bucket (burst, bucket and baseline: medians of the run)",
        headers: vec![
            "size",
            "burst",
            "bucket",
            "baseline",
            "refill",
            "throttled",
            "over burst",
            "delayed",
            "max queue",
            "at",
            "queue lasted",
            "done by",
            "cost",
            "verdict",
        ],
        rows,
        // The throttled column already says it; the verdict adds the over-burst case.
        wide_only: &["over burst", "at", "verdict"],
    }
}

pub(crate) fn not_simulated(sizes: &[&SizeOutcome]) -> Tabular {
    Tabular {
        title: "Not simulated (never on a guess)",
        headers: vec!["size", "why"],
        rows: sizes
            .iter()
            .map(|s| {
                let why = s.not_measured.clone().unwrap_or_default();
                vec![Cell::text(s.size.to_string()), Cell::text(why)]
            })
            .collect(),
        wide_only: &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{simulate, Profile};

    #[test]
    fn the_table_names_each_size_the_unread_ones_and_the_cheapest() {
        let doc = crate::export::tests::fixed_document();
        let profile = Profile::load("1G for 30s every 10m over 1h").unwrap();
        let sim = simulate(
            &profile,
            std::slice::from_ref(&doc),
            probe_core::report::Direction::ClientToServer,
        )
        .unwrap();
        let mut out = Vec::new();
        write_simulation(&sim, Format::Table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        // 1x2's bucket (4.2 Gbit/s, 4.0 GB, 63 Mbit/s) holds a 3.75 GB burst every 10 minutes.
        assert!(text.contains("1x2 ") && text.contains("0 s "), "{text}");
        assert!(
            text.contains("cheapest size that never throttles it: 1x2"),
            "{text}"
        );
        assert!(
            text.contains("0.25x0.5 X86_64") && text.contains("no tcp-stream"),
            "{text}"
        );
        // 1x2's refill test measured 60.75 Mbit/s: the table and the notes say it was used.
        assert!(
            text.contains("assumed: refill: at 1x2 a bucket refills at the rate its refill test"),
            "{text}"
        );
        let row = text.lines().find(|l| l.starts_with("  1x2 ")).unwrap();
        assert!(row.contains("60.75 Mbit/s"), "{row}");
        let mut wide = Vec::new();
        write_simulation(&sim, Format::Wide, &mut wide).unwrap();
        let wide = String::from_utf8(wide).unwrap();
        assert!(wide.contains("60.75 Mbit/s (measured)"), "{wide}");
        for line in text.lines() {
            assert!(line.chars().count() <= 120, "{line}");
        }
        let mut json = Vec::new();
        write_simulation(&sim, Format::Json, &mut json).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(doc["cheapest_unthrottled"], "1x2");
        let one = doc["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["size"] == "1x2");
        assert_eq!(one.unwrap()["outcome"]["throttled_secs"], 0.0, "{doc}");
        assert_eq!(one.unwrap()["bucket"]["refill_assumed"], false, "{doc}");
        assert_eq!(
            one.unwrap()["bucket"]["refill_bits_per_sec"],
            60.75e6,
            "{doc}"
        );
        assert!(doc["sizes"][0]["not_measured"].is_string(), "{doc}");
    }

    #[test]
    fn spans_read_as_people_write_them() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(8.94), "8.9 s");
        assert_eq!(duration(312.0), "5m 12s");
        assert_eq!(duration(7380.0), "2h 03m");
    }
}
