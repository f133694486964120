//! `fargate-bench recommend`: the answer as a table (`wide` adds the medians, the deciding
//! row and its run), JSON, or one HTML page. Table and page render the same sections.

use std::io::{self, Write};

use super::table::write_aligned;
use super::tables::{Cell, Tabular};
use super::{write_json, Format};
use crate::recommend::{Basis, Candidate, Check, Recommendation, Standing};

/// The formats `recommend --format` takes.
pub const FORMATS: [Format; 4] = [Format::Table, Format::Wide, Format::Json, Format::Html];

/// Writes `rec` in `format`, one of [`FORMATS`] (the others are refused where the flags are
/// read).
///
/// # Errors
/// I/O errors of `out`.
pub fn write_recommendation(
    rec: &Recommendation,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => write_json(rec, out),
        Format::Html => out.write_all(super::html::recommend::render(rec).as_bytes()),
        _ => {
            for t in sections(rec) {
                write_aligned(out, &t, format == Format::Wide)?;
            }
            for line in lines(rec) {
                writeln!(out, "{}", wrap(&line, 120))?;
            }
            Ok(())
        }
    }
}

/// The tables: the pick and its runners-up; cheaper sizes that fall short; cheaper sizes not
/// judged (each only when it has rows).
pub(crate) fn sections(rec: &Recommendation) -> Vec<Tabular> {
    let chosen: Vec<&Candidate> = rec
        .standing(&[Standing::Pick, Standing::RunnerUp])
        .collect();
    let short: Vec<&Candidate> = rec
        .cheaper_than_pick()
        .filter(|c| c.standing == Standing::FallsShort)
        .collect();
    let unjudged: Vec<&Candidate> = rec
        .cheaper_than_pick()
        .filter(|c| c.standing == Standing::NotJudged)
        .collect();
    let mut out = Vec::new();
    if !chosen.is_empty() {
        out.push(judged(
            "Cheapest size meeting every need, then its runners-up",
            rec,
            &chosen,
        ));
    }
    if !short.is_empty() {
        out.push(judged(
            if rec.pick.is_some() {
                "Cheaper sizes that fall short"
            } else {
                "Sizes that fall short"
            },
            rec,
            &short,
        ));
    }
    if !unjudged.is_empty() {
        out.push(not_judged(rec, &unjudged));
    }
    let mixed: Vec<&Candidate> = (chosen.iter().chain(&short))
        .copied()
        .filter(|c| c.generations.len() > 1)
        .collect();
    if !mixed.is_empty() {
        out.push(generation_mix(&mixed));
    }
    out
}

/// The CPU generations under each judged size whose tasks ran on more than one.
fn generation_mix(candidates: &[&Candidate]) -> Tabular {
    let rows = candidates
        .iter()
        .flat_map(|c| {
            c.generations.iter().enumerate().map(move |(i, g)| {
                vec![
                    Cell::text(if i == 0 {
                        c.offer.to_string()
                    } else {
                        String::new()
                    }),
                    Cell::text(g.generation.clone()),
                    Cell::num(g.tasks.to_string(), g.tasks as f64),
                    Cell::num(format!("{:.0} %", g.share * 100.0), g.share),
                ]
            })
        })
        .collect();
    Tabular {
        title: "CPU generations under the judged sizes (each need is judged on the worst)",
        headers: vec!["size", "CPU generation", "tasks", "share"],
        rows,
        wide_only: &[],
    }
}

/// `line` broken at spaces into lines of at most `width` characters (a word longer than that
/// stays whole), the continuations indented by two.
fn wrap(line: &str, width: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in line.split(' ') {
        let n = word.chars().count();
        if len > 0 && len + 1 + n > width {
            out.push_str("\n  ");
            len = 2;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(word);
        len += n;
    }
    out
}

/// `+20.0 %`, `-4.0 %`.
fn percent(margin: f64) -> String {
    format!("{:+.1} %", margin * 100.0)
}

fn basis(c: &Check) -> String {
    let end = if c.op.floor() { "min" } else { "max" };
    match c.basis {
        Basis::Interval => format!("95% CI of {}", c.repetitions),
        Basis::Range => format!("{end} of {}", c.repetitions),
        Basis::OneRepetition => "1 rep".into(),
        Basis::Exact => "exact".into(),
    }
}

fn verdict(c: &Check) -> &'static str {
    match (c.meets, c.meets_at_median) {
        (true, _) => "meets",
        (false, true) => "met at median only",
        (false, false) => "short",
    }
}

fn judged(title: &'static str, rec: &Recommendation, candidates: &[&Candidate]) -> Tabular {
    let mut rows = Vec::new();
    for c in candidates {
        let mut first = true;
        for v in &c.needs {
            let need = &rec.needs[v.need];
            if v.checks.is_empty() {
                rows.push(vec![
                    Cell::text(if first {
                        c.offer.to_string()
                    } else {
                        String::new()
                    }),
                    cost(c, first),
                    Cell::text(need.text.clone()),
                    Cell::text("-"),
                    Cell::empty(),
                    Cell::empty(),
                    Cell::text("not measured"),
                    Cell::empty(),
                    Cell::text(v.not_measured.clone().unwrap_or_default()),
                    Cell::empty(),
                ]);
                first = false;
            }
            for (i, check) in v.checks.iter().enumerate() {
                rows.push(vec![
                    Cell::text(if first {
                        c.offer.to_string()
                    } else {
                        String::new()
                    }),
                    cost(c, first),
                    Cell::text(if i == 0 {
                        need.text.clone()
                    } else {
                        "  and lasting".to_owned()
                    }),
                    Cell::num(check.unit.format(check.judged), check.judged),
                    Cell::num(percent(check.margin), check.margin),
                    Cell::text(basis(check)),
                    Cell::text(verdict(check)),
                    Cell::num(check.unit.format(check.median), check.median),
                    Cell::text(match &check.generation {
                        Some(g) => format!("{} on {g}", check.what),
                        None => check.what.clone(),
                    }),
                    Cell::text(check.run.clone().unwrap_or_default()),
                ]);
                first = false;
            }
        }
    }
    Tabular {
        title,
        headers: vec![
            "size", "$/h", "need", "judged", "margin", "on", "verdict", "median", "row", "run",
        ],
        rows,
        wide_only: &["median", "row", "run"],
    }
}

fn cost(c: &Candidate, first: bool) -> Cell {
    match (first, c.cost_per_hour) {
        (true, Some(usd)) => Cell::num(format!("${usd:.4}"), usd),
        (true, None) => Cell::text("no price"),
        (false, _) => Cell::empty(),
    }
}

fn not_judged(rec: &Recommendation, candidates: &[&Candidate]) -> Tabular {
    let rows = candidates
        .iter()
        .flat_map(|c| {
            c.needs.iter().filter_map(move |v| {
                Some(vec![
                    Cell::text(c.offer.to_string()),
                    cost(c, true),
                    Cell::text(rec.needs[v.need].text.clone()),
                    Cell::text(v.not_measured.clone()?),
                ])
            })
        })
        .collect();
    Tabular {
        title: "Cheaper sizes not judged: a need was not measured there (never interpolated)",
        headers: vec!["size", "$/h", "need", "not measured"],
        rows,
        wide_only: &[],
    }
}

/// The answer in sentences: the pick or its absence, needs no size meets or measured, prices,
/// the rule, and the notes.
pub(crate) fn lines(rec: &Recommendation) -> Vec<String> {
    let mut out = Vec::new();
    let pick = rec
        .standing(&[Standing::Pick])
        .next()
        .map(|c| match c.cost_per_hour {
            Some(usd) => format!(
                "pick: {} at ${usd:.4} per task-hour, the cheapest measured size that meets \
                 every need",
                c.offer
            ),
            None => format!("pick: {} (no price known)", c.offer),
        })
        .map(|line| match rec.standing(&[Standing::Pick]).next() {
            Some(c) if c.generations.len() > 1 => format!(
                "{line}, on the worst of the {} CPU generations its tasks ran on",
                c.generations.len()
            ),
            _ => line,
        });
    out.push(pick.unwrap_or_else(|| "no measured size meets every need".into()));
    for gap in &rec.unmet {
        let need = &rec.needs[gap.need].text;
        out.push(match &gap.closest {
            Some(c) => format!(
                "no size meets {need}: closest {} with {} ({}, {})",
                c.offer,
                c.check.unit.format(c.check.judged),
                basis(&c.check),
                percent(c.check.margin)
            ),
            None => format!("no size meets {need}"),
        });
    }
    for gap in &rec.not_measured {
        out.push(format!(
            "not measured at any size: {}: {}",
            rec.needs[gap.need].text, gap.why
        ));
    }
    out.push(format!(
        "prices: {} as of {} (--region, --prices FILE); each need is judged on the lower end \
         of a figure's 95% interval (the upper end for <=), never its median",
        rec.region, rec.prices_as_of
    ));
    out.extend(rec.notes.iter().map(|n| format!("note: {n}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::{recommend, Limits, Need};
    use crate::sizes::{Arch, Prices};

    #[test]
    fn the_table_fits_120_columns_and_names_the_pick_the_short_and_the_unmeasured() {
        let mut doc = crate::export::tests::fixed_document();
        // The row names no architecture: the one its probes reported is the offer's.
        doc.hosts.push(crate::summary::HostRow {
            placement: "1x2".parse().unwrap(),
            role: "client".into(),
            cpu: "x86_64".into(),
            arch: Some(Arch::X86),
            cpu_limit: None,
            memory_limit_bytes: None,
            kernel: None,
            zone: None,
            platform_version: None,
            clocksource: None,
            hypervisor: None,
        });
        let needs = Need::parse_all(&[
            "tcp-stream.baseline>=50Mbit/s".to_owned(),
            "tcp-rr.transactions>=20000/s".to_owned(),
        ])
        .unwrap();
        let prices = Prices::new(None, None, Arch::X86).unwrap();
        let rec = recommend(&[doc], &needs, &Limits::default(), &prices).unwrap();
        let mut out = Vec::new();
        write_recommendation(&rec, Format::Table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        // 1x2's baseline: 60..66 Mbit/s over 7 repetitions, judged on 60 (+20 %).
        assert!(text.contains("pick: 1x2 X86_64 at $0.0494"), "{text}");
        assert!(text.contains("60.00 Mbit/s  +20.0 %"), "{text}");
        // The memory-only sizes measured neither: cheaper, listed, never judged.
        assert!(text.contains("0.25x0.5 ARM64"), "{text}");
        assert!(text.contains("no tcp-stream test ran"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 120, "{}: {line}", line.len());
        }
        let mut json = Vec::new();
        write_recommendation(&rec, Format::Json, &mut json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["pick"]["size"], "1x2");
        assert_eq!(v["pick"]["arch"], "X86_64");
        assert_eq!(v["needs"][0]["op"], ">=");
        let mut page = Vec::new();
        write_recommendation(&rec, Format::Html, &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("1x2 X86_64"));
    }

    #[test]
    fn long_lines_wrap_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), "aa bb\n  cc");
        assert_eq!(wrap("a verylongword", 4), "a\n  verylongword");
    }
}
