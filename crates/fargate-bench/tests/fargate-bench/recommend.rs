//! `fargate-bench recommend` and `compare --fail-if`, end to end on hand-made results
//! directories (written by the store itself, as a run writes them) whose answers are known:
//! the binary must pick the size worked out by hand, refuse one that meets a need only at its
//! median, list a size that did not measure a figure as not measured, break a price tie the
//! documented way, exit 1 when nothing meets or a figure crossed a threshold, and exit 2
//! naming the item and the fix on bad input; `history` must order runs by their start, mark
//! only the move its intervals show, and refuse runs of different suites.

use std::path::{Path, PathBuf};
use std::process::Output;

use fargate_bench::sizes::Capacity;
use fargate_bench::store::{ItemRecord, ItemStatus, RunMeta, RunStatus, Store};
use fargate_bench::Suite;
use probe_core::regime::{BurstBaseline, Regime};
use probe_core::report::{Direction, LatencyMetrics, Throughput};
use probe_core::stats::SampleSummary;
use probe_core::{LatencyHistogram, Report, Role};
use serde_json::Value;

use crate::common::CONTROLLER;

/// What one size measured in every repetition.
#[derive(Clone, Copy)]
struct Size {
    size: &'static str,
    /// Each repetition's tcp-stream baseline, bit/s (a burst of 5 Gbit/s for 10 minutes
    /// before it).
    baselines: [f64; 6],
    /// Each repetition's round trips (all alike, so its p99 is this), ns; `None`: no tcp-rr.
    rtt_ns: Option<[u64; 6]>,
}

fn stream_report(baseline: f64) -> Report {
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "tcp-stream");
    r.host.architecture = "x86_64".into();
    r.metrics.throughput.push(Throughput {
        direction: Direction::ClientToServer,
        received_bytes: 1,
        measured_ns: 1_200_000_000_000,
        bits_per_sec: baseline,
        streams: vec![],
        regime: Some(Regime::BurstThenBaseline(BurstBaseline {
            burst_bits_per_sec: 5e9,
            burst_duration_ns: 600_000_000_000,
            burst_bytes_above_baseline: 300_000_000_000,
            baseline_bits_per_sec: SampleSummary::from_values(&[baseline]).unwrap(),
            change_ns: 600_000_000_000,
            baseline_held_ns: 600_000_000_000,
            drop_ratio: Some(5e9 / baseline),
        })),
    });
    r
}

fn rr_report(rtt_ns: u64) -> Report {
    let mut rtt = LatencyHistogram::new();
    (0..1000).for_each(|_| rtt.record(rtt_ns));
    let mut latency = LatencyMetrics::closed_loop(rtt);
    latency.transactions_per_sec = 1e9 / rtt_ns as f64;
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "tcp-rr");
    r.host.architecture = "x86_64".into();
    r.metrics.latency = Some(latency);
    r
}

fn record(size: &str, label: &str, rep: u32, report: Report) -> ItemRecord {
    ItemRecord {
        id: format!("{rep}/{size}/{label}"),
        label: label.into(),
        kind: label.into(),
        size: size.into(),
        arch: None,
        repetition: rep,
        status: ItemStatus::Ok,
        reports: vec![report],
        reason: None,
        last_lines: vec![],
        emulated: vec![],
        finished_at: "2026-12-04T00:10:00.000Z".into(),
        lifecycles: Vec::new(),
    }
}

/// A finished ECS run on demand under `root`, six repetitions of each size.
fn results(root: &Path, id: &str, sizes: &[Size]) -> PathBuf {
    results_of(root, id, sizes, Suite::default_ecs(), STARTED)
}

/// When the runs of one day started.
const STARTED: &str = "2026-12-04T00:00:00.000Z";

/// An ECS run of `suite` on demand, started at `started_at`.
fn ecs_meta(id: &str, suite: Suite, started_at: &str) -> RunMeta {
    RunMeta {
        run_id: id.into(),
        backend: "ecs".into(),
        suite,
        controller_version: env!("CARGO_PKG_VERSION").into(),
        started_at: started_at.into(),
        status: RunStatus::Running,
        finished_at: None,
        command_line: None,
        capacity: Some(Capacity::OnDemand),
        region: None,
        prices_as_of: None,
    }
}

/// A finished run of `suite` that started at `started_at`, six repetitions of each size.
fn results_of(root: &Path, id: &str, sizes: &[Size], suite: Suite, started_at: &str) -> PathBuf {
    let mut store = Store::create(root, ecs_meta(id, suite, started_at)).unwrap();
    for rep in 0..6 {
        for s in sizes {
            let i = rep as usize;
            store
                .append(&record(
                    s.size,
                    "tcp-stream",
                    rep,
                    stream_report(s.baselines[i]),
                ))
                .unwrap();
            if let Some(rtt) = s.rtt_ns {
                store
                    .append(&record(s.size, "tcp-rr", rep, rr_report(rtt[i])))
                    .unwrap();
            }
        }
    }
    store.finish(RunStatus::Complete).unwrap();
    root.join(id)
}

/// Six repetitions: the lowest, four at the median, the highest. With six, the median's 95 %
/// interval is the lowest to the highest.
fn six(low: f64, median: f64, high: f64) -> [f64; 6] {
    [low, median, median, median, median, high]
}

const FAST: Option<[u64; 6]> = Some([100_000; 6]);

/// The sizes of the main case: 0.5x1 too slow; 1x2's median meets 500 Mbit/s but its interval
/// reaches 480; 2x4 meets the baseline but ran no tcp-rr; 4x8 and 8x16 meet both.
fn sizes() -> Vec<Size> {
    vec![
        Size {
            size: "0.5x1",
            baselines: six(280e6, 300e6, 320e6),
            rtt_ns: FAST,
        },
        Size {
            size: "1x2",
            baselines: six(480e6, 520e6, 560e6),
            rtt_ns: FAST,
        },
        Size {
            size: "2x4",
            baselines: six(900e6, 950e6, 990e6),
            rtt_ns: None,
        },
        Size {
            size: "4x8",
            baselines: six(1000e6, 1100e6, 1200e6),
            rtt_ns: FAST,
        },
        Size {
            size: "8x16",
            baselines: six(2000e6, 2100e6, 2200e6),
            rtt_ns: FAST,
        },
    ]
}

fn controller(args: &[&str]) -> Output {
    std::process::Command::new(CONTROLLER)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn recommend_picks_the_cheapest_size_meeting_every_need_and_lists_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = results(tmp.path(), "a", &sizes());
    let dir = dir.to_str().unwrap();
    let needs = [
        "--need",
        "tcp-stream.baseline>=500Mbit/s",
        "--need",
        "tcp-rr.p99<=200us",
    ];
    let out = controller(&[&["recommend", dir][..], &needs].concat());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(code(&out), Some(0), "{stdout}\n{stderr}");
    // us-east-1 X86_64 on demand: 4 x 0.04048 + 8 x 0.004445.
    assert!(
        stdout.contains("pick: 4x8 X86_64 at $0.1975 per task-hour"),
        "{stdout}"
    );
    // The lowest of six repetitions (1000 Mbit/s) is judged: +100 % over 500.
    let baseline = stdout
        .lines()
        .find(|l| l.contains("tcp-stream.baseline>=500Mbit/s"))
        .unwrap();
    assert!(
        baseline.contains("1.00 Gbit/s") && baseline.contains("+100.0 %"),
        "{stdout}"
    );
    assert!(stdout.contains("8x16 X86_64"), "the runner-up: {stdout}");
    assert!(stdout.contains("met at median only"), "1x2: {stdout}");
    let not_judged = stdout
        .lines()
        .find(|l| l.contains("2x4 X86_64"))
        .unwrap_or_else(|| panic!("2x4 is listed: {stdout}"));
    assert!(
        not_judged.contains("tcp-rr.p99<=200us") && not_judged.contains("no tcp-rr test ran"),
        "{not_judged}"
    );

    let out = controller(&[&["recommend", dir, "--format", "json"][..], &needs].concat());
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["pick"]["size"], "4x8");
    let standing = |size: &str| {
        doc["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["offer"]["size"] == size)
            .unwrap_or_else(|| panic!("{size} in {doc}"))["standing"]
            .clone()
    };
    assert_eq!(standing("0.5x1"), "falls_short");
    assert_eq!(standing("1x2"), "falls_short");
    assert_eq!(standing("2x4"), "not_judged");
    assert_eq!(standing("8x16"), "runner_up");
    let refused = &doc["candidates"][1]["needs"][0]["checks"][0];
    assert_eq!(doc["candidates"][1]["offer"]["size"], "1x2");
    assert_eq!(
        (refused["judged"].as_f64(), refused["median"].as_f64()),
        (Some(480e6), Some(520e6))
    );
    assert_eq!(refused["meets_at_median"], true);

    // Limits no size meets: nothing picked, exit 1, and the reason.
    let out = controller(
        &[
            &["recommend", dir, "--capacity", "FARGATE_SPOT"][..],
            &needs,
        ]
        .concat(),
    );
    assert_eq!(code(&out), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("no measured size is within the limits"),
        "{stdout}"
    );
    assert!(stdout.contains("left out by --arch/--capacity"), "{stdout}");
}

#[test]
fn a_need_met_only_at_its_median_picks_nothing_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = results(tmp.path(), "a", &sizes()[..2]);
    let out = controller(&[
        "recommend",
        dir.to_str().unwrap(),
        "--need",
        "tcp-stream.baseline>=500Mbit/s",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(code(&out), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("no measured size meets every need"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "no size meets tcp-stream.baseline>=500Mbit/s: closest 1x2 X86_64 with 480.00 Mbit/s"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("none meets tcp-stream.baseline>=500Mbit/s"),
        "{stderr}"
    );
}

#[test]
fn a_price_tie_goes_to_the_larger_margin_then_to_the_smaller_size() {
    let tmp = tempfile::tempdir().unwrap();
    // Memory alone is priced: 0.5x2 and 1x2 cost the same.
    let prices = tmp.path().join("prices.toml");
    std::fs::write(
        &prices,
        "as_of = \"2026-12-01\"\n[[regions]]\nregion = \"us-east-1\"\n\
         x86 = { vcpu_hour = 0.0, gb_hour = 0.01 }\narm = { vcpu_hour = 0.0, gb_hour = 0.01 }\n",
    )
    .unwrap();
    let run = |id: &str, small: [f64; 6], large: [f64; 6]| {
        let sizes = [
            Size {
                size: "0.5x2",
                baselines: small,
                rtt_ns: None,
            },
            Size {
                size: "1x2",
                baselines: large,
                rtt_ns: None,
            },
        ];
        let dir = results(tmp.path(), id, &sizes);
        let out = controller(&[
            "recommend",
            dir.to_str().unwrap(),
            "--need",
            "tcp-stream.baseline>=500M",
            "--prices",
            prices.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let out = run(
        "headroom",
        six(550e6, 560e6, 570e6),
        six(800e6, 820e6, 840e6),
    );
    assert!(out.contains("pick: 1x2 X86_64 at $0.0200"), "{out}");
    let same = six(800e6, 820e6, 840e6);
    let out = run("same", same, same);
    assert!(out.contains("pick: 0.5x2 X86_64 at $0.0200"), "{out}");
}

#[test]
fn bad_needs_exit_2_naming_the_need_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = results(tmp.path(), "a", &sizes()[..1]);
    let dir = dir.to_str().unwrap();
    for (needs, says) in [
        (
            &["tcp-stream.goodput>=1G"][..],
            &["tcp-stream.goodput>=1G", "baseline, burst"][..],
        ),
        (&["tcp-stream.baseline>=1GB/s"], &["bytes", "Gbit/s"]),
        (&["tcp-rr.p99<=200"], &["tcp-rr.p99<=200", "give a unit"]),
        (
            &["tcp-rr.p99<=100us", "tcp-rr.p99>=200us"],
            &["contradict", "tcp-rr.p99<=100us", "tcp-rr.p99>=200us"],
        ),
        (&["upload.baseline>=1G"], &["\"upload\"", "\"tcp-stream\""]),
    ] {
        let mut args = vec!["recommend", dir];
        for n in needs {
            args.extend(["--need", n]);
        }
        let out = controller(&args);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), Some(2), "{needs:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{needs:?}: nothing is answered");
        for s in says {
            assert!(stderr.contains(s), "{needs:?} should say {s:?}: {stderr}");
        }
    }
    let out = controller(&["recommend", dir, "--need", "vcpu>=1", "--arch", "sparc"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        text(&out.stderr).contains("X86_64 or ARM64"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn fail_if_exits_1_naming_the_rows_that_crossed_and_never_on_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let at = |baselines: [f64; 6], rtt: [u64; 6]| {
        vec![Size {
            size: "1x2",
            baselines,
            rtt_ns: Some(rtt),
        }]
    };
    let rtt = [100_000, 105_000, 105_000, 105_000, 105_000, 110_000];
    let a = results(tmp.path(), "a", &at(six(900e6, 1000e6, 1100e6), rtt));
    // -20 %, its interval -36 % .. 0 %: noise. The p99 is unchanged.
    let noisy = results(tmp.path(), "noisy", &at(six(700e6, 800e6, 900e6), rtt));
    // -40 %, its interval -50 % .. -28 %; the p99 +38 % (+27 % .. +50 %).
    let slower = [140_000, 145_000, 145_000, 145_000, 145_000, 150_000];
    let fell = results(tmp.path(), "fell", &at(six(550e6, 600e6, 650e6), slower));
    let rules = "tcp-stream.baseline<-5%,tcp-rr.p99>+10%";
    let compare = |b: &Path, rules: &str| {
        controller(&[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--fail-if",
            rules,
        ])
    };

    let out = compare(&noisy, rules);
    assert_eq!(
        code(&out),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("within"),
        "{}",
        text(&out.stdout)
    );

    let out = compare(&fell, rules);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(code(&out), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("2 figures crossed --fail-if"), "{stderr}");
    assert!(
        stderr.contains("tcp-stream client->server baseline at 1x2 changed -40.0 %"),
        "{stderr}"
    );
    assert!(stderr.contains("tcp-rr p99 at 1x2"), "{stderr}");
    assert!(stdout.contains("CROSSED"), "{stdout}");
    // A threshold the interval still reaches does not fail.
    let out = compare(&fell, "tcp-stream.baseline<-30%");
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));

    for (rule, says) in [
        (
            "udp-stream.throughput<-5%",
            "run a has no udp-stream.throughput",
        ),
        ("tcp-stream.goodput<-5%", "unknown figure"),
        ("tcp-stream.baseline<5", "percent"),
    ] {
        let out = compare(&fell, rule);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), Some(2), "{rule}: {stderr}");
        assert!(
            stderr.contains(rule) && stderr.contains(says),
            "{rule}: {stderr}"
        );
    }
}

#[test]
fn history_orders_the_runs_marks_only_the_move_past_the_intervals_and_refuses_other_suites() {
    let tmp = tempfile::tempdir().unwrap();
    let at = |baselines: [f64; 6]| {
        vec![Size {
            size: "1x2",
            baselines,
            rtt_ns: FAST,
        }]
    };
    let run = |id: &str, baselines: [f64; 6], day: u32| {
        results_of(
            tmp.path(),
            id,
            &at(baselines),
            Suite::default_ecs(),
            &format!("2026-12-{day:02}T02:00:00.000Z"),
        )
    };
    // Given newest first: 1.0 Gbit/s on the 1st, 800 Mbit/s (noise: 700..900 holds the
    // ratio 1) on the 2nd, 600 Mbit/s (550..650, past 700..900) on the 3rd.
    let third = run("third", six(550e6, 600e6, 650e6), 3);
    let first = run("first", six(900e6, 1000e6, 1100e6), 1);
    let second = run("second", six(700e6, 800e6, 900e6), 2);
    let dirs = [&third, &first, &second].map(|d| d.to_str().unwrap().to_owned());
    let mut args = vec!["history"];
    args.extend(dirs.iter().map(String::as_str));
    let out = controller(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(code(&out), Some(0), "{stdout}\n{stderr}");
    let order: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(order, ["first", "second", "third"], "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("tcp-stream client->server baseline at 1x2 "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.trim_end().ends_with(" v"), "the fall is marked: {row}");
    assert_eq!(
        row.matches(" v").count(),
        1,
        "the noisy step is not marked: {row}"
    );
    assert!(
        stdout.contains(
            "moved: tcp-stream client->server baseline at 1x2: -25.0 % from run #2 to #3"
        ),
        "{stdout}"
    );

    let page = tmp.path().join("history.html");
    let mut args = vec!["history", "--format", "html", "-o", page.to_str().unwrap()];
    args.extend(dirs.iter().map(String::as_str));
    let out = controller(&args);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h1>fargate-bench history: 3 runs of one suite</h1>"));

    // Another suite's run among them: refused, naming both runs and the fix.
    let other = results_of(
        tmp.path(),
        "other",
        &at(six(900e6, 1000e6, 1100e6)),
        Suite::default_suite(),
        "2026-12-04T02:00:00.000Z",
    );
    let out = controller(&["history", &dirs[1], other.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), Some(2), "{stderr}");
    assert!(
        stderr.contains("runs first and other are of different suites")
            && stderr.contains("compare"),
        "{stderr}"
    );
    // One directory is not a history: clap says two are needed.
    let out = controller(&["history", &dirs[0]]);
    assert_eq!(code(&out), Some(2), "{}", text(&out.stderr));
}

/// Issue 25: a size whose tasks landed on two CPU models. 1x2 ran twelve repetitions, ten on
/// Intel Cascade Lake at 590..610 Mbit/s and two on AMD Milan at 400: its all-tasks interval
/// (the 3rd to the 10th of twelve) starts at 590 and would clear 500 Mbit/s, but the AMD
/// tasks' own figure (400, the lowest of two) does not. 2x4 ran on Intel alone at 950. The
/// report groups 1x2's figure by generation with its counts and says so; `recommend` judges
/// the worse generation, picks 2x4 and shows 1x2's mix.
#[test]
fn a_size_on_two_cpu_models_is_grouped_and_judged_on_the_worse() {
    const INTEL: &str = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
                         model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\n\
                         stepping\t: 7\n";
    const AMD: &str = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\
                       model name\t: AMD EPYC 7R13 Processor\nstepping\t: 1\nflags\t\t: hypervisor\n";
    let tmp = tempfile::tempdir().unwrap();
    let mut store =
        Store::create(tmp.path(), ecs_meta("mixed", Suite::default_ecs(), STARTED)).unwrap();
    for rep in 0..12u32 {
        let on_amd = rep == 3 || rep == 8;
        let (cpu, baseline) = if on_amd {
            (AMD, 400e6)
        } else {
            (INTEL, 590e6 + f64::from(rep) * 2e6)
        };
        let mut small = stream_report(baseline);
        small.host.cpu = probe_core::host::parse_cpu_identity(cpu);
        store
            .append(&record("1x2", "tcp-stream", rep, small))
            .unwrap();
        let mut large = stream_report(950e6 + f64::from(rep) * 1e6);
        large.host.cpu = probe_core::host::parse_cpu_identity(INTEL);
        store
            .append(&record("2x4", "tcp-stream", rep, large))
            .unwrap();
    }
    store.finish(RunStatus::Complete).unwrap();
    let dir = tmp.path().join("mixed");
    let dir = dir.to_str().unwrap();

    // The report: the mix per size, 1x2's figure per generation, and the warning.
    let out = controller(&["report", dir, "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shares: Vec<(String, String, u64)> = summary["cpu_generations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["size"].as_str().unwrap().to_owned(),
                g["generation"].as_str().unwrap().to_owned(),
                g["tasks"].as_u64().unwrap(),
            )
        })
        .collect();
    let intel = "Intel Xeon Platinum 8259CL (Cascade Lake)";
    let amd = "AMD EPYC 7R13 (Milan)";
    assert_eq!(
        shares,
        [
            ("1x2".to_owned(), intel.to_owned(), 10),
            ("1x2".to_owned(), amd.to_owned(), 2),
            ("2x4".to_owned(), intel.to_owned(), 12),
        ]
    );
    let groups = summary["by_generation"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "1x2 alone is split: {groups:?}");
    let amd_rows = groups.iter().find(|g| g["generation"] == amd).unwrap();
    assert_eq!(
        (amd_rows["size"].as_str(), amd_rows["items"].as_u64()),
        (Some("1x2"), Some(2))
    );
    let amd_baseline = &amd_rows["network"][0]["bucket"]["baseline_bits_per_sec"];
    assert_eq!(amd_baseline["median"].as_f64(), Some(400e6));
    assert!(summary["warnings"]
        .to_string()
        .contains("1x2: its items ran on 2 CPU generations (10 items on Intel"));
    let out = controller(&["report", dir]);
    let table = text(&out.stdout);
    assert!(table.contains("By CPU generation"), "{table}");
    assert!(table.contains("CPU generations (the share"), "{table}");
    assert!(
        table.contains("83 %") && table.contains("17 %"),
        "10 and 2 of 12: {table}"
    );
    let page_path = tmp.path().join("report.html");
    let page_arg = page_path.to_str().unwrap();
    let out = controller(&["report", dir, "--format", "html", "-o", page_arg]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let page = std::fs::read_to_string(&page_path).unwrap();
    let section = page
        .split("<section id=\"cpu-generations\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no CPU generations section: {page}"));
    assert!(
        section.contains(amd) && section.contains("each figure is given here per generation"),
        "{section}"
    );

    // recommend: 1x2 falls short on its AMD tasks; 2x4 is picked; 1x2's mix is shown.
    let need = ["--need", "tcp-stream.baseline>=500Mbit/s"];
    let out = controller(&[&["recommend", dir, "--format", "json"][..], &need].concat());
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["pick"]["size"], "2x4", "{answer}");
    let small = answer["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["offer"]["size"] == "1x2")
        .unwrap();
    assert_eq!(small["standing"], "falls_short");
    let check = &small["needs"][0]["checks"][0];
    assert_eq!(check["generation"], amd, "{check}");
    assert_eq!(check["judged"].as_f64(), Some(400e6));
    assert_eq!(small["generations"][1]["generation"], amd);
    let out = controller(&[&["recommend", dir][..], &need].concat());
    let table = text(&out.stdout);
    assert!(
        table.contains("CPU generations under the judged sizes"),
        "{table}"
    );
    assert!(
        table.contains("1x2 X86_64's tasks ran on 2 CPU generations"),
        "{table}"
    );
    let out = controller(&[&["recommend", dir, "--format", "html"][..], &need].concat());
    let page = text(&out.stdout);
    assert!(
        page.contains("CPU generations under the judged sizes") && page.contains(amd),
        "{page}"
    );
}
