//! `history` on hand-made runs whose answers are known: three runs of one suite given out of
//! order, a baseline that falls past its noise in the third, a size missing from the second,
//! and the CPU and platform version changing under a size.

use probe_core::report::Direction;

use super::*;
use crate::recommend::tests::{at, rr, run, s, seven, stream, triad};
use crate::summary::HostRow;

fn host(size: &str, cpu: &str, platform: Option<&str>) -> HostRow {
    HostRow {
        placement: at(size),
        role: "client".into(),
        cpu: cpu.into(),
        arch: None,
        cpu_limit: None,
        memory_limit_bytes: None,
        kernel: None,
        zone: None,
        platform_version: platform.map(str::to_owned),
        clocksource: None,
        hypervisor: None,
    }
}

fn dated(mut doc: Merged, started_at: &str) -> Merged {
    doc.summary.run.started_at = started_at.into();
    doc
}

fn up(size: &str, baseline: probe_core::stats::SampleSummary) -> crate::summary::NetRow {
    stream(size, Direction::ClientToServer, baseline, (5e9, 600.0))
}

/// Runs of the nightly suite: 1x2 and 2x4 on the 1st, only 2x4 on the 2nd, both on the 3rd,
/// when 1x2's baseline fell from 60-66 to 40-44 Mbit/s and its tasks moved to another CPU.
pub(crate) fn nightly() -> Vec<Merged> {
    let mut first = run(
        "r1",
        vec![
            up("1x2", seven(60e6, 63e6, 66e6)),
            up("2x4", seven(600e6, 630e6, 660e6)),
            rr("1x2", seven(90e3, 100e3, 110e3)),
        ],
        vec![triad("1x2", 1, seven(10e9, 11e9, 12e9))],
    );
    first.hosts = vec![
        host("1x2", "Intel Xeon Platinum 8375C", Some("1.4.0")),
        host("2x4", "Intel Xeon Platinum 8375C", Some("1.4.0")),
    ];
    let mut second = run("r2", vec![up("2x4", seven(610e6, 631e6, 650e6))], vec![]);
    second.hosts = vec![host("2x4", "Intel Xeon Platinum 8375C", Some("1.4.0"))];
    let mut third = run(
        "r3",
        vec![
            up("1x2", seven(40e6, 42e6, 44e6)),
            up("2x4", seven(605e6, 629e6, 655e6)),
            rr("1x2", seven(95e3, 101e3, 108e3)),
        ],
        vec![triad("1x2", 1, seven(10.2e9, 11.1e9, 12.1e9))],
    );
    third.hosts = vec![
        host("1x2", "AMD EPYC 7R13", Some("1.4.0")),
        host("2x4", "Intel Xeon Platinum 8375C", Some("1.4.0")),
    ];
    // Given out of order: the history orders by start time.
    vec![
        dated(third, "2026-12-03T02:00:00Z"),
        dated(first, "2026-12-01T02:00:00Z"),
        dated(second, "2026-12-02T02:00:00Z"),
    ]
}

fn series<'a>(h: &'a History, metric: &str, size: &str) -> &'a FigureSeries {
    h.figures
        .iter()
        .find(|f| f.metric == metric && f.placement == at(size))
        .unwrap_or_else(|| {
            panic!(
                "no {metric} at {size} in {:?}",
                h.figures
                    .iter()
                    .map(|f| format!("{} at {}", f.metric, f.placement))
                    .collect::<Vec<_>>()
            )
        })
}

#[test]
fn runs_are_ordered_by_start_and_a_move_is_called_only_past_both_intervals() {
    let h = history(&nightly()).unwrap();
    let ids: Vec<&str> = h.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3"]);

    let baseline = series(&h, "tcp-stream client->server baseline", "1x2");
    assert_eq!(baseline.unit, Unit::BitsPerSec);
    let medians: Vec<Option<f64>> = baseline
        .points
        .iter()
        .map(|p| p.as_ref().map(|p| p.median))
        .collect();
    assert_eq!(
        medians,
        [Some(63e6), None, Some(42e6)],
        "a gap where 1x2 did not run"
    );
    let fell = baseline.points[2].as_ref().unwrap();
    let step = fell.step.as_ref().unwrap();
    // Judged against the last run that had it (#1, across the gap): 40-44 lies below 60-66.
    assert_eq!(step.from_run, 0);
    assert_eq!(step.verdict, Verdict::Lower);
    assert!((step.ratio.unwrap() - 42.0 / 63.0).abs() < 1e-12);
    assert_eq!(fell.interval, Some((40e6, 44e6)));
    assert_eq!(fell.repetitions, 7);
    assert!(
        baseline.points[0].as_ref().unwrap().step.is_none(),
        "the first has no step"
    );

    // 2x4 wandered inside its intervals: no move, run after run.
    let steady = series(&h, "tcp-stream client->server baseline", "2x4");
    let verdicts: Vec<Verdict> = steady
        .points
        .iter()
        .flatten()
        .filter_map(|p| p.step.as_ref().map(|s| s.verdict))
        .collect();
    assert_eq!(verdicts, [Verdict::NoChangeShown, Verdict::NoChangeShown]);

    // Headlines only: the burst and p99 are there, the burst's duration and p90 are not.
    assert!(h
        .figures
        .iter()
        .any(|f| f.metric == "tcp-stream client->server burst"));
    assert!(h.figures.iter().any(|f| f.metric == "tcp-rr p99"));
    assert!(!h
        .figures
        .iter()
        .any(|f| f.metric.ends_with("burst-duration")));
    assert!(!h.figures.iter().any(|f| f.metric.ends_with(" p90")));
    assert!(h.figures.iter().any(|f| f.metric == "memory triad best"));

    let moved: Vec<String> = h
        .moved()
        .map(|f| format!("{} at {}", f.metric, f.placement))
        .collect();
    assert_eq!(moved, ["tcp-stream client->server baseline at 1x2"]);
}

#[test]
fn a_new_cpu_or_platform_version_under_a_size_is_marked_at_the_run_it_appears() {
    let mut runs = nightly();
    // The 2nd run (given last) ran 2x4 on a newer platform version.
    runs[2].hosts[0].platform_version = Some("1.4.1".into());
    let h = history(&runs).unwrap();
    let words: Vec<String> = h.changes.iter().map(ConditionChange::words).collect();
    assert_eq!(
        words,
        [
            "2x4: platform version 1.4.0 -> 1.4.1 (from run #2)",
            "1x2: CPU Intel Xeon Platinum 8375C -> AMD EPYC 7R13 (from run #3)",
            "2x4: platform version 1.4.1 -> 1.4.0 (from run #3)",
        ]
    );
    assert_eq!(
        h.runs[2].cpus["1x2"].iter().collect::<Vec<_>>(),
        ["AMD EPYC 7R13"]
    );
    // Where the merge counted every task's generation, the mix is read from those counts: a
    // run whose 2x4 tasks were split between two generations differs from one all on one.
    let mut runs = nightly();
    for (run, mix) in [
        (1, &["Ice Lake"][..]),
        (2, &["Ice Lake", "Milan"][..]),
        (0, &["Ice Lake"][..]),
    ] {
        runs[run].summary.cpu_generations = mix
            .iter()
            .map(|g| crate::summary::GenerationShare {
                size: at("2x4"),
                generation: (*g).into(),
                tasks: 1,
                share: 1.0 / mix.len() as f64,
            })
            .collect();
    }
    let h = history(&runs).unwrap();
    let words: Vec<String> = h
        .changes
        .iter()
        .filter(|c| c.what == "CPU")
        .map(ConditionChange::words)
        .collect();
    assert_eq!(
        words,
        [
            "2x4: CPU Ice Lake -> Ice Lake + Milan (from run #2)",
            "2x4: CPU Ice Lake + Milan -> Ice Lake (from run #3)",
        ]
    );
}

#[test]
fn runs_of_another_suite_the_same_run_twice_and_a_lone_run_are_refused_with_the_fix() {
    let err = |runs: &[Merged]| history(runs).unwrap_err().to_string();
    let runs = nightly();
    let e = err(&runs[..1]);
    assert!(
        e.contains("1 run given") && e.contains("at least two"),
        "{e}"
    );

    let twice = [runs[0].clone(), runs[0].clone()];
    let e = err(&twice);
    assert!(e.contains("r3 is given twice"), "{e}");

    let mut other = runs.clone();
    other[1].summary.run.suite.tests[0].duration = Some(99.0);
    let e = err(&other);
    assert!(
        e.contains("runs r1 and r2 are of different suites")
            && e.contains("same labels with different options")
            && e.contains("compare"),
        "{e}"
    );
    let mut other = runs.clone();
    other[0].summary.run.suite.tests.truncate(1);
    let e = err(&other);
    assert!(
        e.contains("different suites (["),
        "the labels are listed: {e}"
    );

    let mut empty = runs;
    for r in &mut empty {
        r.summary.network.clear();
        r.summary.memory_bandwidth.clear();
    }
    let e = err(&empty);
    assert!(
        e.contains("no headline figure") && e.contains("fargate-bench report"),
        "{e}"
    );
    assert_eq!(
        history(&empty).unwrap_err().exit_code(),
        2,
        "a usage error: fix the command"
    );
}

#[test]
fn a_memory_kernel_is_the_best_of_its_rows_and_a_figure_only_one_run_has_has_no_step() {
    let mut runs = nightly();
    // r3 (given first) also ran triad with two threads, faster: its best; r1's is 11 GB/s.
    runs[0]
        .summary
        .memory_bandwidth
        .push(triad("1x2", 2, seven(20e9, 22e9, 24e9)));
    // Only r3 ran a copy.
    let mut copy = triad("1x2", 1, s(&[1.0, 2.0, 3.0]));
    copy.kernel = "copy".into();
    runs[0].summary.memory_bandwidth.push(copy);
    let h = history(&runs).unwrap();
    let triad = series(&h, "memory triad best", "1x2");
    let medians: Vec<Option<f64>> = triad
        .points
        .iter()
        .map(|p| p.as_ref().map(|p| p.median))
        .collect();
    assert_eq!(medians, [Some(11e9), None, Some(22e9)]);
    assert_eq!(
        triad.points[2]
            .as_ref()
            .unwrap()
            .step
            .as_ref()
            .unwrap()
            .verdict,
        Verdict::Higher
    );
    let copy = series(&h, "memory copy best", "1x2");
    let points: Vec<&Point> = copy.points.iter().flatten().collect();
    assert_eq!(points.len(), 1, "only r3 has it");
    assert!(copy.points[2].is_some(), "r3 is the last run");
    assert_eq!(points[0].interval, None, "three repetitions: no interval");
    assert!(points[0].step.is_none(), "no earlier run had it");
}
