//! The HTML report in a real browser (headless Chromium from Debian's packages, installed by
//! scripts/test.sh), and the `.hgrm` export against the Python `hdrhistogram` package.
//!
//! A known results directory is written through the library (every value chosen here), then
//! `fargate-bench report DIR --format html` renders it; the tests check the page's structure,
//! that the drawn series pass through the stored values, and that Chromium loads it with no
//! console error and no request leaving the file.

use std::path::{Path, PathBuf};
use std::process::Command;

use fargate_bench::sizes::Arch;
use fargate_bench::store::{ItemRecord, ItemStatus, RunMeta, RunStatus, Store};
use fargate_bench::Suite;
use probe_core::regime::{self, DetectorConfig, Sample};
use probe_core::report::{
    BandwidthResult, CachePlateau, Direction, IntervalSample, LatencyMetrics, LatencyPoint,
    LoadMode, Throughput,
};
use probe_core::{LatencyHistogram, Report, Role};

use crate::common::CONTROLLER;

/// Gbit/s of repetition `rep`'s interval `i` of the stream test at `size`: a burst of 4 s, then
/// a baseline (a token bucket's shape).
fn gbps(size: &str, rep: u32, i: u32) -> f64 {
    let scale = if size == "1x2" { 1.0 } else { 0.5 };
    let level = if i < 4 { 5.0 } else { 1.0 };
    scale * level + 0.05 * f64::from(rep) + 0.01 * f64::from(i)
}

fn stream_report(size: &str, rep: u32) -> Report {
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "tcp-stream");
    for i in 0..10 {
        let bps = gbps(size, rep, i) * 1e9;
        r.intervals.push(IntervalSample {
            direction: Some(Direction::ClientToServer),
            start_ns: u64::from(i) * 1_000_000_000,
            duration_ns: 1_000_000_000,
            bytes: (bps / 8.0) as u64,
            bits_per_sec: bps,
            transactions: None,
            cpu_bound: false,
        });
    }
    r.metrics.throughput.push(Throughput {
        direction: Direction::ClientToServer,
        received_bytes: 1,
        measured_ns: 10_000_000_000,
        bits_per_sec: 2.6e9,
        streams: Vec::new(),
        regime: None,
    });
    r.measured_duration_ns = 10_000_000_000;
    r
}

/// [`stream_report`] as a shared-bucket test gives it: the drain's burst then baseline, and
/// the other direction flat at that baseline right after (one shared bucket).
fn shared_bucket_report(size: &str, rep: u32) -> Report {
    let mut r = stream_report(size, rep);
    let series: Vec<probe_core::regime::Sample> = r
        .intervals
        .iter()
        .map(|i| probe_core::regime::Sample {
            start_ns: i.start_ns,
            duration_ns: i.duration_ns,
            bits_per_sec: i.bits_per_sec,
        })
        .collect();
    let drained = probe_core::regime::detect(&series, &Default::default());
    let base = gbps(size, rep, 9) * 1e9;
    let other = probe_core::regime::Regime::Flat {
        bits_per_sec: base,
        ran_ns: 10_000_000_000,
        may_be_burst_only: true,
    };
    r.metrics.bucket_sharing = Some(probe_core::bucket_sharing::analyze(
        Direction::ClientToServer,
        &drained,
        &other,
    ));
    // Its series is the plain stream's, drawn already.
    r.intervals.clear();
    r
}

/// [`stream_report`] with round-trip probes beside it (issue 24, item 3), 50 a second: 0.3 ms
/// while the burst lasts (4 s), then a queue that grows to 150 ms at the baseline.
fn loaded_report(size: &str, rep: u32) -> Report {
    let mut r = stream_report(size, rep);
    let series: Vec<probe_core::regime::Sample> = r
        .intervals
        .iter()
        .map(|i| probe_core::regime::Sample {
            start_ns: i.start_ns,
            duration_ns: i.duration_ns,
            bits_per_sec: i.bits_per_sec,
        })
        .collect();
    let regime = probe_core::regime::detect(&series, &Default::default());
    let rtt: Vec<Option<u64>> = (0..500u64)
        .map(|i| {
            Some(if i < 200 {
                300_000
            } else {
                (i - 200) * 500_000 + u64::from(rep) * 1_000_000
            })
        })
        .collect();
    r.metrics.latency_under_load = Some(probe_core::loaded_latency::analyze(
        &probe_core::loaded_latency::ProbeSeries {
            per_sec: 50.0,
            rtt_ns: &rtt,
            interval_ns: 1_000_000_000,
            interval_retransmits: Some(&[0, 0, 0, 0, 2, 0, 0, 1, 0, 0]),
            segment_bytes: Some(1448),
        },
        &regime,
        10_000_000_000,
    ));
    r.metrics.throughput[0].regime = Some(regime);
    r
}

/// Round trips of repetition `rep`: 10,000 between 20 and 120 us and a tail to 5 ms.
fn rr_report(rep: u32) -> Report {
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "tcp-rr");
    let mut h = LatencyHistogram::new();
    for i in 0..10_000u64 {
        h.record(20_000 + (i * 7_919 + u64::from(rep) * 13) % 100_000);
    }
    for i in 0..50u64 {
        h.record(1_000_000 + i * 80_000);
    }
    r.metrics.latency = Some(LatencyMetrics {
        mode: LoadMode::Closed,
        target_rate_per_sec: None,
        rtt_summary: h.summary(),
        rtt: h,
        rtt_uncorrected: None,
        connect: None,
        transactions: 10_050,
        transactions_per_sec: 5_025.0,
        timeouts: 0,
        errors: 0,
    });
    r.measured_duration_ns = 2_000_000_000;
    r
}

fn record(size: &str, label: &str, rep: u32, reports: Vec<Report>) -> ItemRecord {
    ItemRecord {
        id: format!("{rep}/{size}/{label}"),
        label: label.into(),
        kind: label.into(),
        size: size.into(),
        arch: None,
        repetition: rep,
        status: ItemStatus::Ok,
        reports,
        reason: None,
        last_lines: Vec::new(),
        emulated: Vec::new(),
        finished_at: "2026-11-30T00:00:00Z".into(),
        lifecycles: Vec::new(),
    }
}

/// A results directory: tcp-stream and tcp-rr at two sizes, two repetitions, one failed item.
fn known_run(root: &Path, repetitions: u32) -> PathBuf {
    let meta = RunMeta {
        controller_version: "0.1.0".into(),
        status: RunStatus::Complete,
        command_line: Some("fargate-bench run --size 0.5x1 --size 1x2".into()),
        ..RunMeta::new(
            "20261130000000-test",
            "local",
            Suite::default_suite(),
            "2026-11-30T00:00:00Z",
        )
    };
    let mut store = Store::create(root, meta).unwrap();
    {
        for rep in 1..=repetitions {
            for size in ["0.5x1", "1x2"] {
                store
                    .append(&record(
                        size,
                        "tcp-stream",
                        rep,
                        vec![stream_report(size, rep)],
                    ))
                    .unwrap();
                store
                    .append(&record(size, "tcp-rr", rep, vec![rr_report(rep)]))
                    .unwrap();
            }
        }
    }
    let mut failed = record("1x2", "tcp-crr", 1, Vec::new());
    failed.status = ItemStatus::Failed;
    failed.reason = Some("server: task stopped: CannotPullContainerError <boom>".into());
    failed.last_lines = vec!["pulling image".into(), "error: manifest unknown".into()];
    store.append(&failed).unwrap();
    store.finish(RunStatus::Complete).unwrap();
    store.dir().to_owned()
}

fn report(dir: &Path, format: &str, out: &Path) {
    let status = Command::new(CONTROLLER)
        .args(["report", dir.to_str().unwrap(), "--format", format, "-o"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = tag.find(&key).unwrap_or_else(|| panic!("{name} in {tag}")) + key.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

fn floats(text: &str) -> Vec<f64> {
    text.split(',').map(|v| v.trim().parse().unwrap()).collect()
}

/// Each chart figure: its opening tag and its SVG.
fn figures(page: &str) -> Vec<(&str, &str)> {
    page.split("<figure ")
        .skip(1)
        .map(|f| {
            let tag_end = f.find('>').unwrap();
            (&f[..tag_end], &f[tag_end..f.find("</figure>").unwrap()])
        })
        .collect()
}

/// The points of every polyline in an SVG.
fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .map(|p| {
            attr(p, "points")
                .split_whitespace()
                .map(|xy| {
                    let v = floats(xy);
                    (v[0], v[1])
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_page_has_a_chart_per_section_and_size_and_draws_the_stored_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = known_run(tmp.path(), 2);
    let page_path = tmp.path().join("report.html");
    report(&dir, "html", &page_path);
    let page = std::fs::read_to_string(&page_path).unwrap();
    let figs = figures(&page);
    let of = |kind: &str| -> Vec<&(&str, &str)> {
        figs.iter()
            .filter(|(tag, _)| attr(tag, "data-chart") == kind)
            .collect()
    };
    // One throughput and one latency chart per size; axes labelled with units.
    let throughput = of("throughput");
    let sizes: Vec<&str> = throughput
        .iter()
        .map(|(t, _)| attr(t, "data-size"))
        .collect();
    assert_eq!(sizes, ["0.5x1", "1x2"]);
    assert_eq!(of("latency").len(), 2);
    assert_eq!(of("cost").len(), 1, "network cost efficiency");
    for (_, svg) in &throughput {
        assert!(
            svg.contains("throughput (Gbit/s)") && svg.contains("(s)"),
            "{svg}"
        );
    }
    for (_, svg) in of("latency") {
        assert!(svg.contains("(µs") && svg.contains("percentile"));
        assert!(svg.contains("99.9%"), "tick labels in percent");
    }
    // The series of 1x2 pass through the stored interval values, at the chart's own scale.
    let (tag, svg) = throughput[1];
    let area = floats(attr(tag, "data-plot-area"));
    let (xr, yr) = (
        floats(attr(tag, "data-x-range")),
        floats(attr(tag, "data-y-range")),
    );
    let lines = polylines(svg);
    for rep in 1..=2u32 {
        for i in 0..10u32 {
            let (x, y) = (f64::from(i) + 0.5, gbps("1x2", rep, i));
            let px = area[0] + (x - xr[0]) / (xr[1] - xr[0]) * (area[2] - area[0]);
            let py = area[3] - (y - yr[0]) / (yr[1] - yr[0]) * (area[3] - area[1]);
            let near = lines
                .iter()
                .flatten()
                .any(|(lx, ly)| (lx - px).abs() <= 2.0 && (ly - py).abs() <= 2.0);
            assert!(
                near,
                "repetition {rep} interval {i} ({x}, {y}) not drawn at ({px}, {py})"
            );
        }
    }
    // Failed items appear with their reason and last lines, escaped.
    assert!(
        page.contains("1/1x2/tcp-crr") && page.contains("CannotPullContainerError &lt;boom&gt;")
    );
    assert!(page.contains("error: manifest unknown"));
    // Nothing outside the file: no URL to fetch, and a policy that forbids any.
    // (The SVG namespace URI names a namespace; nothing fetches it.)
    for request in ["src=", "href=\"http", "url(", "<script", "<link", "@import"] {
        assert!(!page.contains(request), "{request}");
    }
    assert!(page.contains("default-src 'none'"));
}

/// Issue 15: a run over both architectures draws each size's charts per architecture, a cost
/// line per architecture across the sizes, and the "Graviton or x86" table.
#[test]
fn a_run_over_both_architectures_is_drawn_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let mut suite = Suite::default_suite();
    suite.architectures = vec![Arch::X86, Arch::Arm];
    let meta = RunMeta {
        run_id: "20261130000000-arch".into(),
        backend: "ecs".into(),
        suite,
        controller_version: "0.1.0".into(),
        started_at: "2026-11-30T00:00:00Z".into(),
        status: RunStatus::Complete,
        finished_at: None,
        command_line: None,
        capacity: None,
        region: None,
        prices_as_of: None,
    };
    let mut store = Store::create(tmp.path(), meta).unwrap();
    for rep in 1..=2 {
        for size in ["0.5x1", "1x2"] {
            for arch in [Arch::X86, Arch::Arm] {
                let mut rec = record(size, "tcp-stream", rep, vec![stream_report(size, rep)]);
                rec.arch = Some(arch);
                rec.id = format!("{rep}/{size}/{arch}/tcp-stream");
                store.append(&rec).unwrap();
            }
        }
    }
    store.finish(RunStatus::Complete).unwrap();
    let page_path = tmp.path().join("report.html");
    report(store.dir(), "html", &page_path);
    let page = std::fs::read_to_string(&page_path).unwrap();
    let sizes: Vec<&str> = figures(&page)
        .iter()
        .filter(|(tag, _)| attr(tag, "data-chart") == "throughput")
        .map(|(tag, _)| attr(tag, "data-size"))
        .collect();
    assert_eq!(
        sizes,
        ["0.5x1 X86_64", "0.5x1 ARM64", "1x2 X86_64", "1x2 ARM64"],
        "x86 before ARM64 at each size"
    );
    let cost = page
        .split("data-chart=\"cost\"")
        .nth(1)
        .expect("a cost chart");
    assert!(
        cost.contains("data-series=\"tcp-stream ARM64|tcp-stream X86_64\""),
        "a line per architecture: {}",
        &cost[..400.min(cost.len())]
    );
    assert!(page.contains("Graviton or x86, at this size"));
    // Equal throughput at a lower price: Graviton wins per dollar at both sizes.
    assert_eq!(page.matches("ARM64 (Graviton): 1.2").count(), 2, "{page}");
    assert!(page.contains("X86_64 and ARM64 FARGATE"));
}

#[test]
fn empty_sections_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = known_run(tmp.path(), 0);
    let page_path = tmp.path().join("report.html");
    report(&dir, "html", &page_path);
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(figures(&page).is_empty());
    for why in [
        "No bulk network test",
        "No request/response test",
        "No memory test",
        "No memory latency curve",
        "No throughput or bandwidth figure to price",
    ] {
        assert!(page.contains(why), "{why}");
    }
    assert!(page.contains("CannotPullContainerError"));
    // A single repetition still draws, and says it has no interval to give.
    let tmp = tempfile::tempdir().unwrap();
    let dir = known_run(tmp.path(), 1);
    report(&dir, "html", &page_path);
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert_eq!(figures(&page).len(), 5);
    assert!(page.contains("one repetition"));
}

#[test]
fn compare_renders_a_to_b_as_a_page() {
    let tmp = tempfile::tempdir().unwrap();
    let a = known_run(&tmp.path().join("a"), 2);
    let b = known_run(&tmp.path().join("b"), 2);
    let out = tmp.path().join("compare.html");
    let status = Command::new(CONTROLLER)
        .args([
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--format",
            "html",
            "-o",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(&out).unwrap();
    assert_eq!(figures(&page).len(), 1);
    assert!(
        page.contains("+0.0 %") && page.contains("too few repetitions"),
        "identical runs"
    );
}

fn chromium() -> String {
    std::env::var("FARGATE_BENCH_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

#[test]
#[ignore = "needs Chromium (scripts/test.sh installs Debian's chromium)"]
fn chromium_renders_the_page_with_no_console_error_and_no_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = known_run(tmp.path(), 2);
    let page_path = tmp.path().join("report.html");
    report(&dir, "html", &page_path);
    let png = tmp.path().join("page.png");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,3000",
            // Any request would have nowhere to go, and would be logged as a failure.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page_path.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for bad in ["CONSOLE", "Refused to", "net::ERR", "Uncaught"] {
        assert!(!stderr.contains(bad), "{bad}: {stderr}");
    }
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
        "{}",
        bytes.len()
    );
    // The DOM as the browser built it holds every chart's SVG.
    let dom = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", page_path.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        5,
        "2 throughput, 2 latency, 1 cost"
    );
}

/// Ten Fargate sizes, small to large: the first one or all ten make a layout test's run.
const TEN_SIZES: [&str; 10] = [
    "0.25x0.5", "0.5x1", "1x2", "1x4", "2x4", "2x8", "4x8", "4x16", "8x16", "16x32",
];

/// The cache levels memprobe found on a 2-vCPU Xeon (level, up to bytes, ns per load).
const LEVELS: [(&str, u64, f64); 5] = [
    ("L1", 32 << 10, 1.9),
    ("L2", 741_440, 6.5),
    ("L3", 1_482_880, 12.4),
    ("L4", 4 << 20, 57.5),
    ("DRAM", 47_453_120, 178.9),
];

/// Levels half an octave apart, as a host with a split L3 shows them (the largest size's, so
/// in a run of ten sizes the labelled curve is this one among nine of the other shape).
const CROWDED_LEVELS: [(&str, u64, f64); 5] = [
    ("L1", 46_336, 1.6),
    ("L2", 1 << 20, 5.2),
    ("L3", 1_482_880, 9.0),
    ("L4", 2 << 20, 14.0),
    ("DRAM", 47_453_120, 120.0),
];

/// A memprobe report shaped like a real one at `size`: every kernel with cached and
/// non-temporal stores at 1 thread and at the size's vCPUs, a latency curve with five plateaus.
fn memory_report(size: &str, rep: u32) -> Report {
    let levels = if size == "16x32" {
        CROWDED_LEVELS
    } else {
        LEVELS
    };
    let vcpu: f64 = size.split('x').next().unwrap().parse().unwrap();
    let mut r = Report::new("memprobe", "0.1.0", Role::Standalone, "memory");
    let mut threads = vec![1u32];
    if vcpu >= 2.0 {
        threads.push(vcpu as u32);
    }
    // GB/s of one thread, as measured: (kernel, stores, best).
    let kernels = [
        ("read", "none", 8.2),
        ("write", "cached", 4.7),
        ("copy", "cached", 8.8),
        ("scale", "cached", 8.0),
        ("add", "cached", 9.2),
        ("triad", "cached", 9.4),
        ("write", "nontemporal", 20.5),
        ("copy", "nontemporal", 12.9),
        ("scale", "nontemporal", 13.6),
        ("add", "nontemporal", 12.0),
        ("triad", "nontemporal", 12.3),
        ("memcpy", "libc", 13.0),
    ];
    for t in threads {
        for (kernel, stores, gbps) in kernels {
            let best = (gbps * f64::from(t).sqrt() + 0.1 * f64::from(rep)) * 1e9;
            r.metrics.memory_bandwidth.push(BandwidthResult {
                kernel: kernel.into(),
                stores: stores.into(),
                implementation: "avx2".into(),
                threads: t,
                array_bytes: 3 << 27,
                bytes_per_pass: 1 << 28,
                passes: 10,
                best_bytes_per_sec: best,
                median_bytes_per_sec: best * 0.95,
                worst_bytes_per_sec: best * 0.9,
                cv: 0.02,
                bus_bytes_per_sec: best,
                sustained_bytes_per_sec: best * 0.93,
                throttled_periods: Some(0),
                throttled_ns: Some(0),
            });
        }
    }
    // Two points per octave from 4 KiB to 64 MiB (whole cache lines, as memprobe walks them),
    // each on the level that holds it.
    for half_octave in 0..=28 {
        let ws = (4096.0 * 2f64.powf(f64::from(half_octave) / 2.0) / 64.0) as u64 * 64;
        let level = levels
            .iter()
            .find(|(_, up_to, _)| ws <= *up_to)
            .map_or(240.0, |l| l.2);
        r.metrics.memory_latency.push(LatencyPoint {
            working_set_bytes: ws,
            ns_per_load: level * (1.0 + 0.01 * f64::from(rep)) * (1.0 + vcpu / 400.0),
            huge_pages: false,
        });
    }
    for (level, up_to_bytes, ns_per_load) in levels {
        r.metrics.cache_plateaus.push(CachePlateau {
            level: level.into(),
            up_to_bytes,
            ns_per_load: ns_per_load * (1.0 + 0.01 * f64::from(rep)) * (1.0 + vcpu / 400.0),
            claimed_bytes: None,
        });
    }
    r.measured_duration_ns = 5_000_000_000;
    r
}

/// A results directory over the first `sizes` of [`TEN_SIZES`]: tcp-stream (also as a
/// shared-bucket test and with latency under load), tcp-rr and a memory test at each, two
/// repetitions.
fn sized_run(root: &Path, sizes: usize) -> PathBuf {
    let meta = RunMeta {
        controller_version: "0.1.0".into(),
        status: RunStatus::Complete,
        ..RunMeta::new(
            format!("20261130000000-{sizes}-sizes"),
            "local",
            Suite::default_suite(),
            "2026-11-30T00:00:00Z",
        )
    };
    let mut store = Store::create(root, meta).unwrap();
    for rep in 1..=2 {
        for size in &TEN_SIZES[..sizes] {
            let items = [
                ("tcp-stream", stream_report(size, rep)),
                ("tcp-stream shared-bucket", shared_bucket_report(size, rep)),
                (
                    "tcp-stream latency-under-load 50/s",
                    loaded_report(size, rep),
                ),
                ("tcp-rr", rr_report(rep)),
                ("memory", memory_report(size, rep)),
            ];
            for (label, report) in items {
                store
                    .append(&record(size, label, rep, vec![report]))
                    .unwrap();
            }
        }
    }
    store.finish(RunStatus::Complete).unwrap();
    store.dir().to_owned()
}

/// What Chromium measures in the laid-out page, run inside it (the page's own policy forbids
/// scripts, so the test's copy allows inline ones; still nothing may be fetched). One line per
/// problem: two texts of one chart that overlap, a text cut by its chart's edge, a text a
/// series' line or bar runs through, a chart with no series drawn as a line or a bar inside its
/// plot area.
const LAYOUT_CHECK: &str = r#"<script>
(() => {
  const problems = [];
  const figures = [...document.querySelectorAll('figure.chart')];
  figures.forEach((figure, n) => {
    const name = `chart ${n + 1} (${figure.dataset.chart} at ${figure.dataset.size})`;
    const svg = figure.querySelector('svg');
    const edge = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')]
      .filter((t) => t.textContent.trim() !== '')
      .map((t) => ({ text: t.textContent.trim(), box: t.getBoundingClientRect() }));
    for (const { text, box } of texts) {
      if (box.width === 0 || box.height === 0) {
        problems.push(`${name}: "${text}" has no size`);
      } else if (box.left < edge.left - 0.5 || box.right > edge.right + 0.5
          || box.top < edge.top - 0.5 || box.bottom > edge.bottom + 0.5) {
        problems.push(`${name}: "${text}" is cut by the chart's edge`);
      }
    }
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].box, b = texts[j].box;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) {
          problems.push(`${name}: "${texts[i].text}" overlaps "${texts[j].text}"`);
        }
      }
    }
    // A series' line or bar through a text (Liang-Barsky on each segment, in page pixels).
    const ctm = svg.getScreenCTM();
    const crosses = (box, a, b) => {
      const [dx, dy] = [b.x - a.x, b.y - a.y];
      let [t0, t1] = [0, 1];
      for (const [p, q] of [[-dx, a.x - box.left - 1], [dx, box.right - 1 - a.x],
                            [-dy, a.y - box.top - 1], [dy, box.bottom - 1 - a.y]]) {
        if (p === 0) { if (q < 0) return false; continue; }
        const t = q / p;
        if (p < 0) t0 = Math.max(t0, t); else t1 = Math.min(t1, t);
        if (t0 > t1) return false;
      }
      return true;
    };
    for (const series of svg.querySelectorAll('g.series')) {
      const points = [...series.querySelectorAll('polyline')].map((line) =>
        [...line.points].map((p) => new DOMPoint(p.x, p.y).matrixTransform(ctm)));
      const bars = [...series.querySelectorAll('rect')].map((r) => r.getBoundingClientRect());
      for (const { text, box } of texts) {
        const hit = points.some((line) => line.some((p, i) => i > 0 && crosses(box, line[i - 1], p)))
          || bars.some((b) => Math.min(b.right, box.right) - Math.max(b.left, box.left) > 1
            && Math.min(b.bottom, box.bottom) - Math.max(b.top, box.top) > 1);
        if (hit) {
          problems.push(`${name}: "${text}" is crossed by series "${series.dataset.name}"`);
        }
      }
    }
    const [left, top, right, bottom] = figure.dataset.plotArea.split(',').map(Number);
    const drawn = [...svg.querySelectorAll('polyline, rect')].filter((mark) => {
      if (!mark.closest('g.series')) return false;
      const b = mark.getBBox();
      const inside = b.x >= left - 3 && b.x + b.width <= right + 3
        && b.y >= top - 3 && b.y + b.height <= bottom + 3;
      const line = mark.tagName === 'polyline' && (b.width >= 2 || b.height >= 2);
      const bar = mark.tagName === 'rect' && b.width >= 2 && b.height >= 1;
      return inside && (line || bar);
    });
    if (drawn.length === 0) {
      problems.push(`${name}: empty, no series drawn as a line or a bar in its plot area`);
    }
  });
  // A table wider than its section runs off the page (a scrolling box is meant to).
  [...document.querySelectorAll('table')].forEach((table, n) => {
    const holder = table.parentElement;
    if (getComputedStyle(holder).overflowX === 'auto') return;
    const [box, room] = [table.getBoundingClientRect(), holder.getBoundingClientRect()];
    const title = table.previousElementSibling?.tagName === 'H3'
      ? table.previousElementSibling.textContent : `table ${n + 1}`;
    if (box.right > room.right + 0.5 || box.left < room.left - 0.5) {
      problems.push(`${title}: ${Math.round(box.width - room.width)} px wider than its section`);
    }
  });
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = [`charts ${figures.length}`, ...problems].join('\n');
  document.body.appendChild(out);
})();
</script>"#;

/// Renders `page` in Chromium with [`LAYOUT_CHECK`] and returns what it found: the number of
/// charts and the problems. With `FARGATE_BENCH_HTML_KEEP=DIR` the page and a screenshot of it
/// stay in DIR as `NAME.html` and `NAME.png`, for a person to look at.
fn layout_problems(page: &Path, name: &str) -> (usize, Vec<String>) {
    let html = std::fs::read_to_string(page).unwrap();
    let policy = "default-src 'none';";
    assert!(html.contains(policy), "the page's policy");
    let checked = html
        .replacen(policy, "default-src 'none'; script-src 'unsafe-inline';", 1)
        .replacen("</body>", &format!("{LAYOUT_CHECK}</body>"), 1);
    let copy = page.with_extension("checked.html");
    std::fs::write(&copy, checked).unwrap();
    if let Ok(keep) = std::env::var("FARGATE_BENCH_HTML_KEEP") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::copy(page, keep.join(format!("{name}.html"))).unwrap();
        let shot = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg("--window-size=1280,9000")
            .arg(format!(
                "--screenshot={}",
                keep.join(format!("{name}.png")).display()
            ))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(
            shot.status.success(),
            "{}",
            String::from_utf8_lossy(&shot.stderr)
        );
    }
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,4000",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--dump-dom",
        ])
        .arg(format!("file://{}", copy.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let found = dom
        .split("<pre id=\"layout-check\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("the check did not run in {name}: {dom}"));
    let found = found
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let mut lines = found.lines();
    let charts = lines
        .next()
        .and_then(|l| l.strip_prefix("charts "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{found}"));
    (charts, lines.map(str::to_owned).collect())
}

/// Issue 22: a person reads every chart at one size and at ten: no label overlaps another or
/// leaves its chart, and no chart is empty (the memory bandwidth of one size was a column of
/// dots, the cache plateaus' labels ran into each other).
#[test]
#[ignore = "needs Chromium (scripts/test.sh installs Debian's chromium)"]
fn chromium_lays_out_every_chart_readably_at_one_size_and_at_ten() {
    let mut found = Vec::new();
    for sizes in [1, 10] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = sized_run(tmp.path(), sizes);
        let page_path = tmp.path().join("report.html");
        report(&dir, "html", &page_path);
        let page = std::fs::read_to_string(&page_path).unwrap();
        let expected = figures(&page).len();
        // Issue 24, item 6: the shared-bucket answer is laid out with the rest.
        assert_eq!(
            page.matches("one shared bucket</td>").count(),
            sizes,
            "a shared-bucket row per size"
        );
        // Issue 24, item 3: latency under load, its chart and its table row per size.
        assert_eq!(
            page.matches("<td>queues</td>").count(),
            sizes,
            "a latency-under-load row per size"
        );
        for kind in [
            "throughput",
            "loaded-latency",
            "latency",
            "memory-bandwidth",
            "memory-latency",
            "cost",
        ] {
            assert!(
                page.contains(&format!("data-chart=\"{kind}\"")),
                "a {kind} chart at {sizes} sizes"
            );
        }
        let (charts, problems) = layout_problems(&page_path, &format!("{sizes}-sizes"));
        assert_eq!(
            charts, expected,
            "Chromium sees every chart at {sizes} sizes"
        );
        found.extend(
            problems
                .into_iter()
                .map(|p| format!("at {sizes} sizes, {p}")),
        );
    }
    assert!(
        found.is_empty(),
        "a person would find:\n{}",
        found.join("\n")
    );
}

/// Two sizes' tcp-stream runs whose series the probe read as burst then baseline (as an
/// until-baseline run reports them): what `simulate` replays a profile on.
fn bucket_run(root: &Path) -> PathBuf {
    let meta = RunMeta {
        controller_version: "0.1.0".into(),
        status: RunStatus::Complete,
        ..RunMeta::new(
            "20261130000000-bucket",
            "local",
            Suite::default_suite(),
            "2026-11-30T00:00:00Z",
        )
    };
    let mut store = Store::create(root, meta).unwrap();
    for rep in 1..=2 {
        for size in ["0.5x1", "1x2"] {
            let mut r = stream_report(size, rep);
            let series: Vec<Sample> = r
                .intervals
                .iter()
                .map(|i| Sample {
                    start_ns: i.start_ns,
                    duration_ns: i.duration_ns,
                    bits_per_sec: i.bits_per_sec,
                })
                .collect();
            r.metrics.throughput[0].regime = Some(regime::detect(
                &series,
                &DetectorConfig {
                    min_baseline_samples: 3,
                    min_burst_samples: 2,
                    ..DetectorConfig::default()
                },
            ));
            store
                .append(&record(size, "tcp-stream", rep, vec![r]))
                .unwrap();
        }
    }
    store.finish(RunStatus::Complete).unwrap();
    store.dir().to_owned()
}

/// Issue 24, item 6: the `simulate` page as a browser lays it out: a chart per size (offered
/// against delivered traffic, and the bucket's level), no label over another or out of its
/// chart, no console error and no request.
#[test]
#[ignore = "needs Chromium (scripts/test.sh installs Debian's chromium)"]
fn chromium_lays_out_the_simulate_page_readably() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = bucket_run(tmp.path());
    let page = tmp.path().join("simulate.html");
    let out = Command::new(CONTROLLER)
        .args(["simulate", "8G for 30s every 2m", "--format", "html", "-o"])
        .arg(&page)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("0.5x1") && html.contains("1x2"), "both sizes");
    let (charts, problems) = layout_problems(&page, "simulate");
    assert!(charts >= 2, "a chart per size, found {charts}");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
#[ignore = "needs the Python hdrhistogram package (scripts/test.sh installs it in the venv)"]
fn hgrm_matches_the_python_hdrhistogram_percentile_by_percentile() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = known_run(tmp.path(), 2);
    let hgrm = tmp.path().join("report.hgrm");
    report(&dir, "hgrm", &hgrm);
    let python = std::env::var("FARGATE_BENCH_PYTHON").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv/bin/python")
            .display()
            .to_string()
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hgrm_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(dir.join("results.jsonl"))
        .arg(&hgrm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("2 histograms") && said.contains("rows match"),
        "{said}"
    );
}

/// Issue 25, item 4: the page of `history` over eight nightly runs at three sizes, six
/// repetitions each: 1x2's stream falls by a third from the sixth run on, when its tasks moved
/// to another CPU. Every chart is laid out readably (the labels of the fall and of the new
/// CPU included), and each marks them.
#[test]
#[ignore = "needs Chromium (scripts/test.sh installs Debian's chromium)"]
fn chromium_lays_out_the_history_of_eight_runs_readably() {
    let tmp = tempfile::tempdir().unwrap();
    let sizes = ["0.5x1", "1x2", "4x8"];
    let dirs: Vec<PathBuf> = (1..=8u32)
        .map(|night| {
            let meta = RunMeta {
                controller_version: "0.1.0".into(),
                status: RunStatus::Complete,
                ..RunMeta::new(
                    format!("nightly-{night}"),
                    "ecs",
                    Suite::default_suite(),
                    format!("2026-11-{night:02}T02:00:00Z"),
                )
            };
            let mut store = Store::create(tmp.path(), meta).unwrap();
            for rep in 1..=6 {
                for size in sizes {
                    let moved = size == "1x2" && night >= 6;
                    let mut stream = stream_report(size, rep);
                    if moved {
                        stream.metrics.throughput[0].bits_per_sec *= 2.0 / 3.0;
                        for i in &mut stream.intervals {
                            i.bits_per_sec *= 2.0 / 3.0;
                            i.bytes = (i.bits_per_sec / 8.0) as u64;
                        }
                    }
                    let mut items = [
                        ("tcp-stream", stream),
                        ("tcp-rr", rr_report(rep)),
                        ("memory", memory_report(size, rep)),
                    ];
                    for (label, report) in &mut items {
                        report.host.cpu_model = Some(
                            if moved {
                                "AMD EPYC 7R13 Processor"
                            } else {
                                "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
                            }
                            .into(),
                        );
                        store
                            .append(&record(size, label, rep, vec![report.clone()]))
                            .unwrap();
                    }
                }
            }
            store.finish(RunStatus::Complete).unwrap();
            store.dir().to_owned()
        })
        .collect();
    let table = Command::new(CONTROLLER)
        .arg("history")
        .args(&dirs)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    let page_path = tmp.path().join("history.html");
    let out = Command::new(CONTROLLER)
        .args(["history", "--format", "html", "-o"])
        .arg(&page_path)
        .args(&dirs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.contains("data-chart=\"history\""), "history charts");
    assert!(
        page.contains("1x2 -33 %") && page.contains("1x2: new CPU"),
        "the fall and the new CPU are labelled:\n{table}"
    );
    let (charts, problems) = layout_problems(&page_path, "history");
    assert_eq!(charts, figures(&page).len(), "Chromium sees every chart");
    assert!(
        problems.is_empty(),
        "a person would find:\n{}",
        problems.join("\n")
    );
}
