//! `compare A B --fail-if "tcp-stream.baseline<-5%,tcp-rr.p99>+10%"`: a scheduled run fails
//! when a figure moved past a threshold, and only when the move is more than noise.
//!
//! A rule names a figure ([`crate::figure`]), a direction and a change in percent. Each row
//! of that figure that both runs have is compared as every headline is ([`super::change`]:
//! B/A with the interval `[low B / high A, high B / low A]` of the two medians' 95 %
//! intervals), and crosses the rule only when that whole interval lies beyond the threshold
//! and beyond 1: a change whose interval still holds the threshold or "no change" does not
//! fail. A row without an interval (fewer than 6 repetitions on a side, a zero in A) is not
//! judged, and said so; a rule none of whose rows can be judged is refused with the fix, so a
//! gate never passes only because it could not look.
//!
//! Where both runs' items at a placement ran on more than one CPU generation, each generation
//! both runs have is judged on its own rows instead of the rows over all items: a nightly run
//! that landed on more of the older generation than the night before moves the all-items
//! median without anything having regressed, and a regression on one generation can hide in
//! the mix. Where either run ran on one generation alone, the all-items rows are compared.

use serde::Serialize;

use super::{change, Change, Verdict};
use crate::error::{BenchError, Result};
use crate::figure::{figures_split_where, FigureName, RowFigure};
use crate::summary::Summary;

/// Which way a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    /// Fails on a fall (`<-5%`).
    Down,
    /// Fails on a rise (`>+10%`).
    Up,
}

/// One `--fail-if` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As written.
    pub text: String,
    /// The figure it watches.
    pub name: FigureName,
    /// Which way.
    pub direction: Move,
    /// The threshold as a ratio B/A (`-5%` is 0.95).
    pub ratio: f64,
}

impl Rule {
    /// Parses `FIGURE<-5%` or `FIGURE>+10%`.
    ///
    /// # Errors
    /// [`BenchError::FailIf`] naming the rule and how to write it.
    pub fn parse(text: &str) -> Result<Rule> {
        let written = text.trim();
        let bad = |why: String| BenchError::FailIf {
            rule: written.to_owned(),
            why,
        };
        let Some(at) = written.find(['<', '>']) else {
            return Err(bad(
                "no threshold: write FIGURE<-PERCENT% (fail on a fall) or FIGURE>+PERCENT% \
                 (fail on a rise), such as tcp-stream.baseline<-5%"
                    .into(),
            ));
        };
        let direction = if written.as_bytes()[at] == b'<' {
            Move::Down
        } else {
            Move::Up
        };
        let rest = written[at + 1..].trim_start_matches('=').trim();
        let name = FigureName::parse(&written[..at]).map_err(bad)?;
        let percent = rest
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .filter(|p| p.is_finite())
            .ok_or_else(|| {
                bad(format!(
                    "{rest:?} is not a change in percent: write it as -5% or +10%"
                ))
            })?;
        if percent <= -100.0 {
            return Err(bad(format!(
                "a figure cannot fall by {percent}%: B/A is never below zero"
            )));
        }
        Ok(Rule {
            text: written.to_owned(),
            name,
            direction,
            ratio: 1.0 + percent / 100.0,
        })
    }
}

/// What a rule says of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The whole interval lies past the threshold (and past 1).
    Crossed,
    /// The interval holds the threshold or 1: within the rule, or within the noise.
    Within,
    /// No interval to judge by, and why.
    NotJudged(String),
}

/// One row against one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    /// The rule as written.
    pub rule: String,
    /// The change (as `compare` gives it).
    pub change: Change,
    /// What the rule says.
    pub outcome: Outcome,
}

impl Checked {
    /// One line for the error that fails the command.
    pub fn line(&self) -> String {
        format!(
            "{} changed {} ({}) past {}",
            self.change.metric,
            self.change.percent(),
            self.change.interval(),
            self.rule
        )
    }
}

fn outcome(rule: &Rule, c: &Change) -> Outcome {
    match (c.verdict, c.ratio_interval, rule.direction) {
        (Verdict::Lower, Some((_, hi)), Move::Down) if hi < rule.ratio => Outcome::Crossed,
        (Verdict::Higher, Some((lo, _)), Move::Up) if lo > rule.ratio => Outcome::Crossed,
        (Verdict::TooFewRepetitions | Verdict::ZeroBaseline, _, _) => {
            Outcome::NotJudged(c.verdict.words())
        }
        (Verdict::Higher, None, Move::Up) => Outcome::NotJudged(
            "A's interval reaches zero, so the ratio has no upper end to report".into(),
        ),
        _ => Outcome::Within,
    }
}

/// Every row of every rule, compared; [`Checked::outcome`] says which crossed.
///
/// # Errors
/// [`BenchError::FailIf`] when a run has no row of a rule's figure (naming the figures the
/// runs have), when no row is in both runs, or when none of a rule's rows can be judged.
pub fn gate(a: &Summary, b: &Summary, rules: &[Rule]) -> Result<Vec<Checked>> {
    // Per generation where both runs split a placement by generation, else over all items.
    let both_split = |p| a.split_by_generation(p) && b.split_by_generation(p);
    let (fa, fb) = (
        figures_split_where(a, both_split),
        figures_split_where(b, both_split),
    );
    let mut out = Vec::new();
    for rule in rules {
        let bad = |why: String| BenchError::FailIf {
            rule: rule.text.clone(),
            why,
        };
        let pick = |f: &[RowFigure<'_>]| -> Vec<usize> {
            (0..f.len()).filter(|&i| rule.name.selects(&f[i])).collect()
        };
        let (ra, rb) = (pick(&fa), pick(&fb));
        for (rows, run, figures) in [(&ra, a, &fa), (&rb, b, &fb)] {
            if rows.is_empty() {
                return Err(bad(format!(
                    "run {} has no {}: it has {}",
                    run.run.run_id,
                    rule.name,
                    available(figures)
                )));
            }
        }
        let before = out.len();
        for &i in &ra {
            let x = &fa[i];
            let Some(y) = rb.iter().map(|&j| &fb[j]).find(|y| {
                (y.test, &y.what, y.figure, y.placement, y.generation)
                    == (x.test, &x.what, x.figure, x.placement, x.generation)
            }) else {
                continue;
            };
            let on = x.generation.map(|g| format!(" on {g}")).unwrap_or_default();
            let c = change(
                format!("{} at {}{on}", x.name(), x.placement),
                x.figure.unit(),
                x.value,
                y.value,
            );
            out.push(Checked {
                rule: rule.text.clone(),
                outcome: outcome(rule, &c),
                change: c,
            });
        }
        let checked = &out[before..];
        if checked.is_empty() {
            return Err(bad(format!(
                "no row of {} is in both runs (different sizes, directions or CPU generations)",
                rule.name
            )));
        }
        let unjudged: Vec<&str> = checked
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::NotJudged(why) => Some(why.as_str()),
                Outcome::Crossed | Outcome::Within => None,
            })
            .collect();
        if let (true, Some(why)) = (unjudged.len() == checked.len(), unjudged.first()) {
            return Err(bad(format!(
                "none of its rows can be judged ({why}): run both with -n 6 or more, so a \
                 change can be told from noise"
            )));
        }
    }
    Ok(out)
}

/// The figures a run has, by name, for messages.
fn available(figures: &[RowFigure<'_>]) -> String {
    let mut names: Vec<String> = figures
        .iter()
        .map(|f| format!("{}.{}", f.kind, f.figure.name()))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        "no figures".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use probe_core::stats::SampleSummary;

    use super::*;
    use crate::summary::{NetRow, RttPercentiles};

    fn s(values: &[f64]) -> SampleSummary {
        SampleSummary::from_values(values).unwrap()
    }

    /// Seven repetitions from `low` to `high` (the median's interval) around `median`.
    fn seven(low: f64, median: f64, high: f64) -> SampleSummary {
        s(&[low, median, median, median, median, median, high])
    }

    /// A run with a flat tcp-stream at 1x2 and a tcp-rr at 1x2 whose repetitions' p99 is
    /// `p99`.
    fn run(id: &str, throughput: SampleSummary, p99: SampleSummary) -> Summary {
        let mut doc = crate::export::tests::fixed_document().summary;
        doc.run.run_id = id.into();
        let mut stream = doc
            .network
            .iter()
            .find(|r| r.kind == "tcp-stream")
            .cloned()
            .unwrap();
        stream.bucket = None;
        stream.regimes = BTreeMap::new();
        stream.throughput_bits_per_sec = Some(throughput);
        let mut rr: NetRow = doc
            .network
            .iter()
            .find(|r| r.kind == "tcp-rr")
            .cloned()
            .unwrap();
        rr.rtt_percentiles = Some(RttPercentiles {
            p50_ns: s(&[1e4; 7]),
            p90_ns: s(&[2e4; 7]),
            p99_ns: p99,
            p99_9_ns: s(&[5e4; 7]),
        });
        doc.network = vec![stream, rr];
        doc
    }

    fn rules(texts: &[&str]) -> Vec<Rule> {
        texts.iter().map(|t| Rule::parse(t).unwrap()).collect()
    }

    fn crossed(a: &Summary, b: &Summary, texts: &[&str]) -> Vec<String> {
        gate(a, b, &rules(texts))
            .unwrap()
            .into_iter()
            .filter(|c| c.outcome == Outcome::Crossed)
            .map(|c| c.change.metric)
            .collect()
    }

    #[test]
    fn rules_parse_into_a_figure_a_direction_and_a_ratio() {
        let r = Rule::parse("tcp-stream.baseline<-5%").unwrap();
        assert_eq!(
            (r.direction, r.name.to_string()),
            (Move::Down, "tcp-stream.baseline".into())
        );
        assert!((r.ratio - 0.95).abs() < 1e-12);
        let r = Rule::parse(" tcp-rr.p99 >= +10 % ").unwrap();
        assert_eq!(r.direction, Move::Up);
        assert!((r.ratio - 1.10).abs() < 1e-12);
        for (bad, says) in [
            ("tcp-stream.baseline-5%", "no threshold"),
            ("tcp-stream.baseline<-5", "percent"),
            ("tcp-stream.goodput<-5%", "unknown figure"),
            ("tcp-stream.baseline<-100%", "never below zero"),
        ] {
            let e = Rule::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_fall_past_the_threshold_fails_and_one_inside_the_noise_or_the_threshold_does_not() {
        let p99 = || seven(100e3, 110e3, 120e3);
        let a = run("a", seven(900e6, 1000e6, 1100e6), p99());
        // -20 %: its interval [700/1100, 900/900] = -36 % .. 0 % holds 1: noise.
        let noisy = run("b", seven(700e6, 800e6, 900e6), p99());
        assert!(crossed(&a, &noisy, &["tcp-stream.throughput<-5%"]).is_empty());
        // -40 %: [550/1100, 650/900] = -50 % .. -28 %: past -5 %.
        let fell = run("b", seven(550e6, 600e6, 650e6), p99());
        let c = crossed(&a, &fell, &["tcp-stream.throughput<-5%"]);
        assert_eq!(c, ["tcp-stream client->server throughput at 1x2"]);
        // Past 1 but not past -30 %: the interval's upper end (-28 %) is above the threshold.
        assert!(crossed(&a, &fell, &["tcp-stream.throughput<-30%"]).is_empty());
        // A rise does not cross a rule that watches falls, nor the other way round.
        assert!(crossed(&fell, &a, &["tcp-stream.throughput<-5%"]).is_empty());
        assert!(crossed(&a, &fell, &["tcp-stream.throughput>+5%"]).is_empty());
    }

    #[test]
    fn a_p99_rise_is_judged_on_each_repetition_s_own_p99() {
        let t = || seven(900e6, 1000e6, 1100e6);
        let a = run("a", t(), seven(100e3, 110e3, 120e3));
        let b = run("b", t(), seven(140e3, 150e3, 160e3));
        // B/A in [140/120, 160/100] = +16.7 % .. +60 %: past +10 %.
        let c = crossed(&a, &b, &["tcp-rr.p99>+10%"]);
        assert_eq!(c, ["tcp-rr p99 at 1x2"]);
        assert!(crossed(&a, &b, &["tcp-rr.p99>+20%"]).is_empty());
    }

    /// `run` whose items at 1x2 ran on two CPU generations: each generation's stream at its
    /// own throughput, the all-items row at `all`.
    fn mixed(id: &str, all: SampleSummary, older: SampleSummary, newer: SampleSummary) -> Summary {
        let mut doc = run(id, all, seven(1e5, 1.1e5, 1.2e5));
        let stream = doc.network[0].clone();
        doc.by_generation = [("Intel Xeon (Skylake)", older), ("AMD EPYC (Genoa)", newer)]
            .into_iter()
            .map(|(generation, throughput)| crate::summary::GenerationRows {
                size: stream.size,
                generation: generation.into(),
                items: 7,
                tasks: 14,
                network: vec![NetRow {
                    throughput_bits_per_sec: Some(throughput),
                    ..stream.clone()
                }],
                memory_bandwidth: Vec::new(),
            })
            .collect();
        doc
    }

    /// Both runs split 1x2 by CPU generation: each generation is judged on its own rows, so a
    /// night on more of the slower generation is no regression, and one generation's fall is.
    #[test]
    fn where_both_runs_ran_on_several_generations_each_is_judged_alone() {
        let older = || seven(560e6, 600e6, 640e6);
        let newer = || seven(950e6, 1000e6, 1050e6);
        let a = mixed("a", seven(950e6, 1000e6, 1050e6), older(), newer());
        // The mix moved to the older generation: the all-items median fell 40 %.
        let b = mixed("b", seven(560e6, 600e6, 640e6), older(), newer());
        let checked = gate(&a, &b, &rules(&["tcp-stream.throughput<-5%"])).unwrap();
        let metrics: Vec<&str> = checked.iter().map(|c| c.change.metric.as_str()).collect();
        assert_eq!(
            metrics,
            [
                "tcp-stream client->server throughput at 1x2 on Intel Xeon (Skylake)",
                "tcp-stream client->server throughput at 1x2 on AMD EPYC (Genoa)",
            ]
        );
        assert!(
            checked.iter().all(|c| c.outcome == Outcome::Within),
            "{checked:?}"
        );
        // The newer generation fell 40 % on its own: that crosses, named by generation.
        let fell = mixed(
            "b",
            seven(950e6, 1000e6, 1050e6),
            older(),
            seven(560e6, 600e6, 640e6),
        );
        assert_eq!(
            crossed(&a, &fell, &["tcp-stream.throughput<-5%"]),
            ["tcp-stream client->server throughput at 1x2 on AMD EPYC (Genoa)"]
        );
        // A run on one generation alone is compared over all items, as before.
        let single = run("one", seven(560e6, 600e6, 640e6), seven(1e5, 1.1e5, 1.2e5));
        assert_eq!(
            crossed(&a, &single, &["tcp-stream.throughput<-5%"]),
            ["tcp-stream client->server throughput at 1x2"]
        );
    }

    #[test]
    fn a_figure_the_runs_lack_or_cannot_judge_is_refused_naming_it() {
        let a = run("a", seven(9e8, 1e9, 1.1e9), seven(1e5, 1.1e5, 1.2e5));
        let e = gate(&a, &a, &rules(&["tcp-stream.baseline<-5%"])).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = e.to_string();
        assert!(e.contains("run a has no tcp-stream.baseline"), "{e}");
        assert!(
            e.contains("tcp-stream.throughput") && e.contains("tcp-rr.p99"),
            "{e}"
        );
        let few = run("few", s(&[9e8, 1e9, 1.1e9]), seven(1e5, 1.1e5, 1.2e5));
        let e = gate(&few, &few, &rules(&["tcp-stream.throughput<-5%"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("-n 6"), "{e}");
    }
}
