//! Tells a drop the CPU caused from one the network caused.
//!
//! Each side samples, per interval, how long its cgroup was throttled by its CPU quota and how
//! much time the hypervisor stole from its host. An interval where either took a noticeable
//! share is short of CPU; if its figure is well below the figure of the intervals that were
//! not, the drop is the CPU's. If most intervals were short of CPU, the whole figure is what
//! the quota (or the neighbours) allowed, not what the network carries. On Fargate, where a
//! 0.25-vCPU task's quota often binds before its network does, that is the difference between
//! a finding about the network and one about the task size.

use probe_core::units::format_ns;

/// Share of an interval a side must have been throttled (or robbed by steal) for that interval
/// to count as short of CPU.
const PRESSURE_SHARE: f64 = 0.05;

/// A short-of-CPU interval whose figure is below this share of the other intervals' median is
/// a drop.
const DROP_SHARE: f64 = 0.8;

/// One interval of a series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub(crate) start_ns: u64,
    pub(crate) duration_ns: u64,
    /// The figure: bit/s, or transactions.
    pub(crate) value: f64,
}

/// What one side sampled, aligned with the series' intervals (shorter series cover fewer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SidePressure<'a> {
    /// `client` or `server`.
    pub(crate) side: &'static str,
    pub(crate) throttled_ns: &'a [u64],
    pub(crate) steal_ns: &'a [u64],
}

/// Which intervals were short of CPU, and what the report should say about it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) cpu_bound: Vec<bool>,
    pub(crate) warnings: Vec<String>,
}

/// Why one interval was short of CPU, in words.
fn causes(i: usize, duration_ns: u64, sides: &[SidePressure<'_>]) -> Vec<String> {
    let bites = |ns: u64| ns as f64 >= PRESSURE_SHARE * duration_ns as f64;
    let mut out = Vec::new();
    for (n, s) in sides.iter().enumerate() {
        if let Some(&t) = s.throttled_ns.get(i).filter(|t| bites(**t)) {
            out.push(format!(
                "the {}'s cgroup was throttled {}",
                s.side,
                format_ns(t as f64)
            ));
        }
        // Two sides on one host (loopback) share its steal: name it once.
        let same_host_seen = sides[..n].iter().any(|o| o.steal_ns == s.steal_ns);
        if let Some(&st) = s.steal_ns.get(i).filter(|t| bites(**t)) {
            if !same_host_seen {
                out.push(format!(
                    "the hypervisor stole {} from the {}'s host",
                    format_ns(st as f64),
                    s.side
                ));
            }
        }
    }
    out
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

fn secs(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e9)
}

/// Classifies `series` (`what` names the figure, `show` formats one) against the sides'
/// pressure: marks the intervals short of CPU and words a warning for each run of them whose
/// figure dropped, or one for a side short of CPU throughout.
pub(crate) fn classify(
    what: &str,
    series: &[Point],
    sides: &[SidePressure<'_>],
    show: &dyn Fn(f64) -> String,
) -> Verdict {
    let why: Vec<Vec<String>> = series
        .iter()
        .enumerate()
        .map(|(i, p)| causes(i, p.duration_ns, sides))
        .collect();
    let cpu_bound: Vec<bool> = why.iter().map(|w| !w.is_empty()).collect();
    let short = cpu_bound.iter().filter(|b| **b).count();
    let mut warnings = Vec::new();
    // Throttling comes and goes with the quota's periods (and is counted when a period ends),
    // so a CPU-bound stream can show a few intervals without it: most intervals decide.
    if short > 0 && short * 2 >= series.len() {
        let mut named: Vec<String> = Vec::new();
        for s in sides {
            let total: u64 = s.throttled_ns.iter().take(series.len()).sum();
            if total > 0 {
                named.push(format!(
                    "the {}'s cgroup was throttled {} in all",
                    s.side,
                    format_ns(total as f64)
                ));
            }
        }
        if named.is_empty() {
            named.push("the hypervisor stole time from its CPUs".into());
        }
        warnings.push(format!(
            "{short} of {} intervals were short of CPU ({}): the {what} is what the CPU allowed, \
             not what the network carries (CPU-bound)",
            series.len(),
            named.join("; ")
        ));
        return Verdict {
            cpu_bound,
            warnings,
        };
    }
    let free = median(
        series
            .iter()
            .zip(&cpu_bound)
            .filter(|(_, b)| !**b)
            .map(|(p, _)| p.value)
            .collect(),
    );
    match free {
        None => {}
        Some(level) => {
            let dropped =
                |i: usize| cpu_bound[i] && series[i].value < DROP_SHARE * level && level > 0.0;
            let mut i = 0;
            while i < series.len() {
                if !dropped(i) {
                    i += 1;
                    continue;
                }
                let first = i;
                while i < series.len() && dropped(i) {
                    i += 1;
                }
                let run = &series[first..i];
                let low = run.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
                let end = run.last().map_or(0, |p| p.start_ns + p.duration_ns);
                warnings.push(format!(
                    "the {what} dropped to {} from {} in {}-{} s while {}: CPU-bound, not the \
                     network",
                    show(low),
                    show(level),
                    secs(run[0].start_ns),
                    secs(end),
                    why[first].join(" and ")
                ));
            }
        }
    }
    Verdict {
        cpu_bound,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn series(values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                start_ns: i as u64 * S,
                duration_ns: S,
                value: *v,
            })
            .collect()
    }

    fn gbit(v: f64) -> String {
        format!("{} Gbit/s", v / 1e9)
    }

    #[test]
    fn a_drop_while_the_server_was_throttled_is_named_cpu_bound() {
        let s = series(&[10e9, 10e9, 4e9, 3e9, 10e9]);
        let server_throttled = [0, 0, 400_000_000, 600_000_000, 0];
        let steal = [0; 5];
        let sides = [
            SidePressure {
                side: "client",
                throttled_ns: &[0; 5],
                steal_ns: &steal,
            },
            SidePressure {
                side: "server",
                throttled_ns: &server_throttled,
                steal_ns: &steal,
            },
        ];
        let v = classify("throughput", &s, &sides, &gbit);
        assert_eq!(v.cpu_bound, [false, false, true, true, false]);
        assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
        let w = &v.warnings[0];
        assert!(
            w.contains("dropped to 3 Gbit/s from 10 Gbit/s in 2.0-4.0 s")
                && w.contains("the server's cgroup was throttled 400")
                && w.contains("CPU-bound, not the network"),
            "{w}"
        );
    }

    #[test]
    fn a_drop_without_cpu_pressure_is_the_networks_and_slight_throttling_does_not_count() {
        let s = series(&[10e9, 10e9, 2e9, 2e9]);
        // 40 ms of a second is under the 5 % that counts.
        let throttled = [0, 0, 40_000_000, 0];
        let sides = [SidePressure {
            side: "server",
            throttled_ns: &throttled,
            steal_ns: &[],
        }];
        let v = classify("throughput", &s, &sides, &gbit);
        assert_eq!(
            v,
            Verdict {
                cpu_bound: vec![false; 4],
                warnings: vec![]
            }
        );
    }

    #[test]
    fn pressure_in_most_intervals_makes_the_whole_figure_cpu_bound() {
        let s = series(&[7e9, 7e9, 7e9]);
        // Counted when a quota period ends: one interval may see none.
        let throttled = [0, 1_400_000_000, 700_000_000];
        let sides = [SidePressure {
            side: "client",
            throttled_ns: &throttled,
            steal_ns: &[0; 3],
        }];
        let v = classify("throughput", &s, &sides, &gbit);
        assert_eq!(v.cpu_bound, [false, true, true]);
        assert_eq!(v.warnings.len(), 1);
        assert!(
            v.warnings[0].starts_with("2 of 3 intervals were short of CPU")
                && v.warnings[0].contains("the client's cgroup was throttled 2.1")
                && v.warnings[0].contains("not what the network carries (CPU-bound)"),
            "{}",
            v.warnings[0]
        );
    }

    #[test]
    fn steal_on_a_shared_host_is_named_once() {
        let s = series(&[5000.0, 5000.0, 1000.0]);
        let steal = [0, 0, 300_000_000];
        let sides = [
            SidePressure {
                side: "client",
                throttled_ns: &[],
                steal_ns: &steal,
            },
            SidePressure {
                side: "server",
                throttled_ns: &[],
                steal_ns: &steal,
            },
        ];
        let v = classify("transaction rate", &s, &sides, &|v| format!("{v}/s"));
        assert_eq!(v.cpu_bound, [false, false, true]);
        assert_eq!(
            v.warnings,
            [
                "the transaction rate dropped to 1000/s from 5000/s in 2.0-3.0 s while the \
              hypervisor stole 300.00 ms from the client's host: CPU-bound, not the network"
            ]
        );
    }
}
