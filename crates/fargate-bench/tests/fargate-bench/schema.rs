//! The summary JSON (`run`/`report --format json`) against its committed JSON Schema,
//! `crates/fargate-bench/schema/summary.schema.json`, as oha tests its `schema.json` and
//! probe-core its report schema: what the binary prints for a real run on the local backend
//! (and for the same records placed on both architectures, with a failed item), a summary with
//! every optional part filled that names every property the schema declares, and the
//! mutations the schema must refuse, so a field dropped, renamed or mistyped in the model fails
//! here.

use std::collections::BTreeSet;
use std::path::Path;

use fargate_bench::export::{write_document, Format};
use fargate_bench::platform::Lifecycle;
use fargate_bench::sizes::{Arch, Capacity, Prices};
use fargate_bench::store::{ItemRecord, ItemStatus, RunMeta, RunStatus, TaskLifecycle};
use fargate_bench::Suite;
use probe_core::refill::{Reburst, Refill, RefillVerdict};
use probe_core::report::{
    BandwidthResult, Direction, LatencyMetrics, LatencyPoint, StreamResult, TcpInfoSnapshot,
    Throughput, UdpMetrics,
};
use probe_core::{regime, LatencyHistogram, Report, Role};
use serde_json::{json, Value};

use crate::common::{controller, only_run_dir};

/// The committed schema.
const SUMMARY_SCHEMA: &str = include_str!("../../schema/summary.schema.json");

/// A validator that checks formats too (`started_at` is a date-time, not any string).
fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SUMMARY_SCHEMA).expect("the committed schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the committed schema is itself valid")
}

/// Every violation, as `message at /json/pointer`.
fn errors_of(value: &Value) -> Vec<(String, String)> {
    validator()
        .iter_errors(value)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect()
}

fn assert_valid(what: &str, value: &Value) {
    let errors = errors_of(value);
    assert!(
        errors.is_empty(),
        "{what} does not match schema/summary.schema.json:\n{}",
        errors
            .iter()
            .map(|(at, e)| format!("  {e} at {at:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Runs the controller in `dir` and parses the summary it prints.
fn summary_of(dir: &Path, args: &[&str]) -> Value {
    let out = controller(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON: {e}"))
}

fn rows<'a>(summary: &'a Value, section: &str) -> &'a [Value] {
    summary[section]
        .as_array()
        .unwrap_or_else(|| panic!("no {section} in {summary}"))
}

/// Two repetitions of a bulk TCP, a paced UDP, a request/response and a quick memory test:
/// every network row kind, the memory sections, and intervals of the mean.
const SUITE: &str = r#"
repetitions = 2
sizes = ["1x2"]
[[test]]
kind = "tcp-stream"
duration = 0.5
[[test]]
kind = "udp-stream"
duration = 0.5
rate = "200M"
[[test]]
kind = "tcp-rr"
duration = 0.5
[[test]]
kind = "memory"
quick = true
"#;

/// The results directory of `from`, its records placed on X86_64 and on ARM64 in turn (as a
/// run over both architectures stores them), plus one failed item.
fn across_architectures(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(from.join("run.json")).unwrap()).unwrap();
    meta["suite"]["architectures"] = json!(["X86_64", "ARM64"]);
    std::fs::write(to.join("run.json"), meta.to_string()).unwrap();
    let mut lines = Vec::new();
    let mut last = None;
    for line in std::fs::read_to_string(from.join("results.jsonl"))
        .unwrap()
        .lines()
    {
        let record: Value = serde_json::from_str(line).unwrap();
        for arch in ["X86_64", "ARM64"] {
            let mut placed = record.clone();
            let id = record["id"].as_str().unwrap();
            let (rep, rest) = id.split_once('/').unwrap();
            let (size, test) = rest.split_once('/').unwrap();
            placed["id"] = json!(format!("{rep}/{size}/{arch}/{test}"));
            placed["arch"] = json!(arch);
            lines.push(placed.to_string());
            last = Some(placed);
        }
    }
    let mut failed = last.unwrap();
    let object = failed.as_object_mut().unwrap();
    object.remove("reports");
    object.insert("id".into(), json!("3/1x2/ARM64/memory"));
    object.insert("repetition".into(), json!(3));
    object.insert("status".into(), json!("failed"));
    object.insert("reason".into(), json!("memprobe exited with code 3"));
    object.insert("last_lines".into(), json!(["fatal: cannot map memory"]));
    lines.push(failed.to_string());
    std::fs::write(to.join("results.jsonl"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_local_run_and_its_reports_print_summaries_the_schema_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite.toml");
    std::fs::write(&suite, SUITE).unwrap();
    let run = summary_of(
        tmp.path(),
        &[
            "run",
            "--suite",
            suite.to_str().unwrap(),
            "--no-progress",
            "--format",
            "json",
        ],
    );
    assert_valid("`run --format json`", &run);
    // What was validated holds every row kind with its figures, not an empty shell.
    assert_eq!(run["items_ok"], 8, "{run}");
    let network = rows(&run, "network");
    let row = |kind: &str| {
        network
            .iter()
            .find(|r| r["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} row in {run}"))
    };
    assert!(row("tcp-stream")["throughput_bits_per_sec"]["ci95_low"].is_number());
    assert!(row("tcp-rr")["rtt"]["p99_ns"].is_u64());
    assert!(row("udp-stream")["udp_jitter_ns"]["median"].is_number());
    assert!(rows(&run, "memory_bandwidth").len() >= 4, "{run}");
    assert!(!rows(&run, "memory_latency").is_empty());
    assert!(!rows(&run, "emulated").is_empty());
    assert!(run["pricing"]["as_of"].is_string());

    let dir = only_run_dir(tmp.path());
    let dir_arg = dir.to_str().unwrap();
    let report = summary_of(tmp.path(), &["report", dir_arg, "--format", "json"]);
    assert_valid("`report --format json`", &report);
    assert_eq!(report, run, "report reads back the summary the run printed");

    // A region without prices: the pricing says why, and no row carries a cost.
    let unpriced = summary_of(
        tmp.path(),
        &["report", dir_arg, "--format", "json", "--region", "mars-1"],
    );
    assert_valid("`report --region mars-1`", &unpriced);
    assert!(unpriced["pricing"]["unknown"].is_string(), "{unpriced}");

    // The same records over both architectures, one item failed.
    let both = tmp.path().join("both");
    across_architectures(&dir, &both);
    let crossed = summary_of(
        tmp.path(),
        &["report", both.to_str().unwrap(), "--format", "json"],
    );
    assert_valid("a report over both architectures", &crossed);
    let arches: BTreeSet<&str> = rows(&crossed, "network")
        .iter()
        .filter_map(|r| r["arch"].as_str())
        .collect();
    assert_eq!(arches, BTreeSet::from(["ARM64", "X86_64"]), "{crossed}");
    assert!(rows(&crossed, "architectures").len() >= 4, "{crossed}");
    assert_eq!(crossed["failures"][0]["id"], "3/1x2/ARM64/memory");
}

// --- a summary with every part filled ---------------------------------------------------------

/// A suite that sets every key a suite file has.
const EVERY_KEY: &str = r#"
repetitions = 6
sizes = ["1x2"]
concurrency = 2
architectures = ["X86_64", "ARM64"]
[[test]]
kind = "tcp-stream"
name = "bulk"
duration = 20
omit = 1
streams = 2
reverse = true
message = "128K"
receive_wait = "block"
send_path = "copy"
interval = 0.5
[[test]]
kind = "tcp-stream"
bidir = true
[[test]]
kind = "tcp-stream"
max_duration = 300
baseline_hold = 5
refill = ["4s", "2m"]
[[test]]
kind = "udp-stream"
until_baseline = true
max_duration = 600
baseline_hold = 30
[[test]]
kind = "udp-stream"
name = "pattern"
rate_profile = "400M:2s,0:1s"
[[test]]
kind = "tcp-stream"
shared_bucket = true
max_duration = 300
baseline_hold = 5
[[test]]
kind = "tcp-stream"
until_baseline = true
max_duration = 300
baseline_hold = 5
latency_under_load = 50
[[test]]
kind = "tcp-rr"
message = "64"
response = "1K"
rate = "1000"
[[test]]
kind = "udp-rr"
busy_poll = true
[[test]]
kind = "memory"
quick = true
no_latency = true
[ecs]
cluster = "bench"
subnet = "subnet-0123"
security_groups = ["sg-0123"]
assign_public_ip = false
execution_role_arn = "arn:aws:iam::123456789012:role/fargate-bench-execution"
log_group = "/fargate-bench"
netprobe_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/netprobe:0.1.0"
memprobe_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/memprobe:0.1.0"
cpu_architecture = "X86_64"
capacity_provider = "FARGATE_SPOT"
platform_version = "1.4.0"
capacity_wait_secs = 300
region = "us-east-1"
profile = "bench"
endpoint_url = "http://127.0.0.1:5000"
"#;

fn meta() -> RunMeta {
    RunMeta {
        status: RunStatus::Complete,
        finished_at: Some("2026-11-24T21:40:00.000Z".into()),
        command_line: Some("fargate-bench run --suite every-key.toml".into()),
        capacity: Some(Capacity::Spot),
        region: Some("ap-northeast-2".into()),
        prices_as_of: Some("2026-11-01".into()),
        ..RunMeta::new(
            "20261124210000-full",
            "ecs",
            Suite::from_toml(EVERY_KEY).expect("a valid suite"),
            "2026-11-24T21:00:00.000Z",
        )
    }
}

/// A bulk TCP report whose series bursts at 400 Mbit/s for 8 s, then holds 50 Mbit/s.
fn tcp_stream(scale: f64) -> Report {
    let series: Vec<regime::Sample> = (0..20u64)
        .map(|i| regime::Sample {
            start_ns: i * 1_000_000_000,
            duration_ns: 1_000_000_000,
            bits_per_sec: scale * if i < 8 { 4e8 } else { 5e7 },
        })
        .collect();
    let bits_per_sec = series.iter().map(|s| s.bits_per_sec).sum::<f64>() / 20.0;
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "tcp-stream");
    r.metrics.throughput.push(Throughput {
        direction: Direction::ClientToServer,
        received_bytes: (bits_per_sec * 20.0 / 8.0) as u64,
        measured_ns: 20_000_000_000,
        bits_per_sec,
        streams: vec![StreamResult {
            index: 0,
            received_bytes: (bits_per_sec * 20.0 / 8.0) as u64,
            bits_per_sec,
            sender_socket: None,
            receiver_socket: None,
            sender_tcp_info: Some(TcpInfoSnapshot {
                total_retransmits: 3,
                ..Default::default()
            }),
        }],
        regime: Some(regime::detect(&series, &Default::default())),
    });
    r.metrics.refill = Some(refill_of(scale));
    // The same test then found the other direction bursting as long: two buckets.
    let drained = regime::detect(&series, &Default::default());
    r.metrics.bucket_sharing = Some(probe_core::bucket_sharing::analyze(
        Direction::ClientToServer,
        &drained,
        &drained,
    ));
    // Round trips beside it, 50 a second: 2 ms at the burst, 200 ms at the baseline (a queue).
    let rtt: Vec<Option<u64>> = (0..1000u64)
        .map(|i| match i {
            i if i < 400 => Some(2_000_000),
            i if i % 100 == 7 => None,
            _ => Some(200_000_000),
        })
        .collect();
    let retransmits = [
        0u64, 0, 0, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0,
    ];
    r.metrics.latency_under_load = Some(probe_core::loaded_latency::analyze(
        &probe_core::loaded_latency::ProbeSeries {
            per_sec: 50.0,
            rtt_ns: &rtt,
            interval_ns: 1_000_000_000,
            interval_retransmits: Some(&retransmits),
            segment_bytes: Some(1448),
        },
        &drained,
        20_000_000_000,
    ));
    r
}

/// The refill test after that drain: 24 MB above the baseline after 4 s idle (48 Mbit/s), a
/// bucket full again after 120 s (a bound only), and a re-burst that never came back to the
/// baseline within its cap.
fn refill_of(scale: f64) -> Refill {
    let reburst = |idle_s: u64, bytes: f64, full: bool, reached_cap: bool| Reburst {
        idle_ns: idle_s * 1_000_000_000,
        quiet_ns: idle_s * 1_000_000_000,
        measured_ns: 5_000_000_000,
        received_bytes: bytes as u64 + 31_250_000,
        bytes_above_baseline: bytes as u64,
        burst_duration_ns: 500_000_000,
        refill_bits_per_sec: bytes * 8.0 / idle_s as f64,
        share_of_bucket: Some(bytes / 350e6),
        full,
        reached_cap,
        interval_ns: 1_000_000_000,
        interval_bytes: vec![bytes as u64 + 6_250_000],
    };
    Refill {
        direction: Direction::ClientToServer,
        verdict: RefillVerdict::AtBaselineRate,
        summary: "refills at about the baseline rate".into(),
        bucket_bytes: Some(350_000_000),
        baseline_bits_per_sec: Some(5e7 * scale),
        burst_bits_per_sec: Some(4e8 * scale),
        rebursts: vec![
            reburst(4, 24e6 * scale, false, false),
            reburst(120, 350e6, true, false),
            reburst(60, 300e6, false, true),
        ],
        refill_bits_per_sec: Some(48e6 * scale),
        refill_rates_bits_per_sec: None,
        refill_to_baseline: Some(0.96),
        full_refill_ns: Some(58_000_000_000),
        saturates_at_bucket: Some(true),
    }
}

fn udp_stream(bits_per_sec: f64) -> Report {
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "udp-stream");
    r.metrics.throughput.push(Throughput {
        direction: Direction::ServerToClient,
        received_bytes: (bits_per_sec / 8.0) as u64,
        measured_ns: 1_000_000_000,
        bits_per_sec,
        streams: vec![],
        regime: None,
    });
    r.metrics.udp = Some(UdpMetrics {
        sent_datagrams: 1000,
        received_datagrams: 990,
        lost_datagrams: 10,
        loss_ratio: 0.01,
        jitter_ns: 1500.0,
        datagram_bytes: 1400,
        receiver_socket_drops: Some(4),
        ..Default::default()
    });
    r
}

fn tcp_rr(transactions_per_sec: f64) -> Report {
    let mut rtt = LatencyHistogram::new();
    (1..1000).for_each(|i| rtt.record(20_000 + i * 7));
    let mut latency = LatencyMetrics::closed_loop(rtt);
    latency.transactions_per_sec = transactions_per_sec;
    let mut r = Report::new("netprobe", "0.1.0", Role::Client, "tcp-rr");
    r.metrics.latency = Some(latency);
    r
}

fn memory(rep: u32) -> Report {
    let kernel = |kernel: &str, stores: &str, best: f64, throttled: Option<u64>| BandwidthResult {
        kernel: kernel.into(),
        stores: stores.into(),
        implementation: "avx2".into(),
        threads: 1,
        array_bytes: 3 << 26,
        bytes_per_pass: 3 << 26,
        passes: 10,
        best_bytes_per_sec: best,
        median_bytes_per_sec: best * 0.95,
        worst_bytes_per_sec: best * 0.9,
        cv: 0.02,
        bus_bytes_per_sec: best,
        sustained_bytes_per_sec: best * 0.8,
        throttled_periods: throttled,
        throttled_ns: throttled.map(|p| p * 1_000_000),
    };
    let mut r = Report::new("memprobe", "0.1.0", Role::Standalone, "memory");
    let best = 1e10 + f64::from(rep) * 1e8;
    r.metrics.memory_bandwidth = vec![
        kernel("triad", "nontemporal", best, Some(2)),
        kernel("copy", "cached", best, None),
    ];
    r.metrics.memory_latency = [(4096, 1.2), (1 << 20, 4.5), (1 << 28, 90.0)]
        .into_iter()
        .map(|(working_set_bytes, ns_per_load)| LatencyPoint {
            working_set_bytes,
            ns_per_load: ns_per_load + f64::from(rep) * 0.01,
            huge_pages: false,
        })
        .collect();
    r
}

fn record(rep: u32, arch: Arch, label: &str, report: Report) -> ItemRecord {
    ItemRecord {
        id: format!("{rep}/1x2/{}/{label}", arch.ecs_name()),
        label: label.into(),
        kind: report.test.kind.clone(),
        size: "1x2".into(),
        arch: Some(arch),
        repetition: rep,
        status: ItemStatus::Ok,
        reports: vec![report],
        reason: None,
        last_lines: vec![],
        emulated: vec!["cpu: 1 CPU(s) by pinning".into()],
        finished_at: "2026-11-24T21:01:00.000Z".into(),
        // Issue 25, item 3: a task seen from its launch request to RUNNING, its pull apart.
        lifecycles: vec![TaskLifecycle {
            role: "client".into(),
            lifecycle: Lifecycle {
                created_ms: 180,
                pull_started_ms: Some(9_000 + u64::from(rep) * 100),
                pull_stopped_ms: Some(14_000 + u64::from(rep) * 300),
                running_ms: Some(21_000 + u64::from(rep) * 1_000),
                seen_running_ms: Some(21_700 + u64::from(rep) * 1_000),
            },
            platform_version: Some("1.4.0".into()),
        }],
    }
}

const INTEL_CASCADE_LAKE: &str = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
    model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\nstepping\t: 7\n";
const AMD_MILAN: &str = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\
    model name\t: AMD EPYC 7R13 Processor\nstepping\t: 1\n";
const GRAVITON2: &str = "CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
const GRAVITON3: &str = "CPU implementer\t: 0x41\nCPU part\t: 0xd40\n";

/// Six repetitions of four tests on both architectures (a bucket, UDP loss and drops, round
/// trips with an outlying rate, a throttled memory kernel), and one failed item.
fn records() -> Vec<ItemRecord> {
    let mut all = Vec::new();
    for rep in 1..=6u32 {
        let r = f64::from(rep);
        for arch in Arch::ALL {
            all.push(record(rep, arch, "tcp-stream", tcp_stream(1.0 + r / 100.0)));
            all.push(record(rep, arch, "udp-stream", udp_stream(1e9 + r * 1e6)));
            // The sixth repetition lies far outside Tukey's fences: flagged, kept.
            let tps = if rep == 6 {
                90_000.0
            } else {
                20_000.0 + r * 10.0
            };
            all.push(record(rep, arch, "tcp-rr", tcp_rr(tps)));
            all.push(record(rep, arch, "memory", memory(rep)));
        }
    }
    // Issue 25: odd repetitions on one CPU generation, even ones on the next, on each
    // architecture: both placements are given per generation too.
    for rec in &mut all {
        let cpuinfo = match (rec.arch, rec.repetition % 2) {
            (Some(Arch::X86), 1) => INTEL_CASCADE_LAKE,
            (Some(Arch::X86), _) => AMD_MILAN,
            (_, 1) => GRAVITON2,
            _ => GRAVITON3,
        };
        for report in &mut rec.reports {
            report.host.cpu = probe_core::host::parse_cpu_identity(cpuinfo);
        }
    }
    let mut failed = record(7, Arch::Arm, "memory", memory(7));
    failed.status = ItemStatus::Failed;
    failed.reports.clear();
    failed.reason = Some("memprobe exited with code 3 and printed no result line".into());
    failed.last_lines = vec!["fatal: cannot map memory".into()];
    all.push(failed);
    all
}

/// The JSON the exporter writes for `records` under `prices`.
fn exported(prices: &Prices) -> Value {
    let merged = fargate_bench::merge::summarize(&meta(), &records(), Some(prices));
    let mut out = Vec::new();
    write_document(Format::Json, &merged, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// Priced on demand in us-east-1: every cost and per-dollar figure.
fn full_summary() -> Value {
    exported(&Prices::new(None, None, Arch::X86).unwrap())
}

/// Spot prices in a region the table does not know: `pricing.unknown`, no costs.
fn unpriced_summary() -> Value {
    exported(
        &Prices::new(None, Some("mars-1"), Arch::Arm)
            .unwrap()
            .on(Capacity::Spot),
    )
}

/// Every property name the schema declares, in any of its definitions.
fn schema_properties(schema: &Value, names: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "properties" {
                    if let Value::Object(properties) = value {
                        names.extend(properties.keys().cloned());
                    }
                }
                schema_properties(value, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| schema_properties(v, names)),
        _ => {}
    }
}

/// Every object key anywhere in `doc`.
fn keys_of(doc: &Value, keys: &mut BTreeSet<String>) {
    match doc {
        Value::Object(map) => {
            for (key, value) in map {
                keys.insert(key.clone());
                keys_of(value, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys_of(v, keys)),
        _ => {}
    }
}

/// The schema names no field the model never writes: every property it declares appears in
/// the exporter's output of a summary with every part filled.
#[test]
fn a_summary_with_every_part_filled_validates_and_uses_every_property_of_the_schema() {
    let full = full_summary();
    let unpriced = unpriced_summary();
    assert_valid("the full summary", &full);
    assert_valid("the unpriced summary", &unpriced);

    let bucket = rows(&full, "network")
        .iter()
        .find_map(|r| r.get("bucket"))
        .unwrap_or_else(|| panic!("no bucket row in {full}"));
    assert!(bucket["burst_gbit_per_sec_per_dollar_hour"].is_number());
    let refill = rows(&full, "network")
        .iter()
        .find_map(|r| r.get("refill"))
        .unwrap_or_else(|| panic!("no refill row in {full}"));
    // Six repetitions of 48 Mbit/s x (1 + rep / 100): the full and capped re-bursts bound the
    // rate only and are counted, not read.
    assert_eq!(refill["refill_bits_per_sec"]["n"], 6, "{refill}");
    assert_eq!(refill["verdict"], "at_baseline_rate", "{refill}");
    let sharing = rows(&full, "network")
        .iter()
        .find_map(|r| r.get("bucket_sharing"))
        .unwrap_or_else(|| panic!("no shared-bucket row in {full}"));
    assert_eq!(sharing["verdicts"], json!({"separate": 6}), "{sharing}");
    assert_eq!(sharing["other_bucket_bytes"]["n"], 6, "{sharing}");
    let loaded = rows(&full, "network")
        .iter()
        .find_map(|r| r.get("latency_under_load"))
        .unwrap_or_else(|| panic!("no latency-under-load row in {full}"));
    assert_eq!(loaded["verdicts"], json!({"queues": 6}), "{loaded}");
    assert_eq!(loaded["stages"][1]["stage"], "baseline", "{loaded}");
    assert!(rows(&full, "memory_bandwidth")
        .iter()
        .any(|r| r["quota_throttled"] == true));

    let schema: Value = serde_json::from_str(SUMMARY_SCHEMA).unwrap();
    let mut declared = BTreeSet::new();
    schema_properties(&schema, &mut declared);
    let mut written = BTreeSet::new();
    keys_of(&full, &mut written);
    keys_of(&unpriced, &mut written);
    let never: Vec<&String> = declared.difference(&written).collect();
    assert!(
        never.is_empty(),
        "the schema declares properties no summary wrote (renamed or removed in the model?): \
         {never:?}"
    );
}

/// The index of the first element of `section` that `pick` accepts.
fn index_of(doc: &Value, section: &str, pick: impl Fn(&Value) -> bool) -> usize {
    rows(doc, section)
        .iter()
        .position(pick)
        .unwrap_or_else(|| panic!("no such row in {section}"))
}

/// What a summary must not look like: each case changes one thing of a valid summary, and the
/// schema must say where.
#[test]
fn the_schema_rejects_a_dropped_renamed_or_mistyped_field() {
    let full = full_summary();
    assert_valid("the full summary", &full);
    let tcp = index_of(&full, "network", |r| {
        r["kind"] == "tcp-stream" && r["arch"] == "X86_64"
    });
    let udp = index_of(&full, "network", |r| r["kind"] == "udp-stream");
    let triad = index_of(&full, "memory_bandwidth", |r| r["quota_throttled"] == true);
    let rr_vs = index_of(&full, "architectures", |r| r["unit"] == "transactions/s");

    type Change = Box<dyn Fn(&mut Value)>;
    let remove = |at: &'static str, key: &'static str| -> Change {
        Box::new(move |doc: &mut Value| {
            let object = doc.pointer_mut(at).unwrap().as_object_mut().unwrap();
            assert!(object.remove(key).is_some(), "{at}/{key} is in the summary");
        })
    };
    let set = |at: String, value: Value| -> Change {
        Box::new(move |doc: &mut Value| {
            *doc.pointer_mut(&at)
                .unwrap_or_else(|| panic!("{at} is in the summary")) = value.clone();
        })
    };
    let tcp_at = format!("/network/{tcp}");
    let cases: Vec<(&str, String, Change)> = vec![
        (
            "a required field dropped",
            tcp_at.clone(),
            Box::new({
                let at = tcp_at.clone();
                move |doc: &mut Value| {
                    let row = doc.pointer_mut(&at).unwrap().as_object_mut().unwrap();
                    row.remove("repetitions").unwrap();
                }
            }),
        ),
        (
            "a field renamed",
            format!("/memory_bandwidth/{triad}"),
            Box::new(move |doc: &mut Value| {
                let row = doc["memory_bandwidth"][triad].as_object_mut().unwrap();
                let value = row.remove("best_bytes_per_sec").unwrap();
                row.insert("best_bps".into(), value);
            }),
        ),
        (
            "a count written as text",
            "/items_ok".into(),
            set("/items_ok".into(), json!("48")),
        ),
        (
            "a figure written as text",
            format!("{tcp_at}/throughput_bits_per_sec/median"),
            set(
                format!("{tcp_at}/throughput_bits_per_sec/median"),
                json!("fast"),
            ),
        ),
        (
            "an absent value written as null",
            format!("{tcp_at}/cost_per_hour"),
            set(format!("{tcp_at}/cost_per_hour"), Value::Null),
        ),
        (
            "an architecture in its old spelling",
            "/pricing/arch".into(),
            set("/pricing/arch".into(), json!("x86")),
        ),
        (
            "a row's arch that is not its placement's",
            tcp_at.clone(),
            set(format!("{tcp_at}/arch"), json!("ARM64")),
        ),
        (
            "a placement that is no Fargate size",
            format!("{tcp_at}/size"),
            set(format!("{tcp_at}/size"), json!("3x7 X86_64")),
        ),
        (
            "a headline kind that is not its unit's",
            format!("/architectures/{rr_vs}"),
            set(format!("/architectures/{rr_vs}/unit"), json!("B/s")),
        ),
        (
            "a unit out of the enum",
            format!("/architectures/{rr_vs}/unit"),
            set(format!("/architectures/{rr_vs}/unit"), json!("Gbit/s")),
        ),
        (
            "a loss ratio above one",
            format!("/network/{udp}/udp_loss_ratio"),
            set(format!("/network/{udp}/udp_loss_ratio"), json!(1.5)),
        ),
        (
            "a rate's interval below zero",
            format!("{tcp_at}/throughput_bits_per_sec/median_ci95_low"),
            set(
                format!("{tcp_at}/throughput_bits_per_sec/median_ci95_low"),
                json!(-1.0),
            ),
        ),
        (
            "half an interval",
            format!("{tcp_at}/throughput_bits_per_sec"),
            Box::new({
                let at = format!("{tcp_at}/throughput_bits_per_sec");
                move |doc: &mut Value| {
                    let s = doc.pointer_mut(&at).unwrap().as_object_mut().unwrap();
                    s.remove("median_ci95_high").unwrap();
                }
            }),
        ),
        (
            "a false flag the model leaves out",
            format!("/memory_bandwidth/{triad}/quota_throttled"),
            set(
                format!("/memory_bandwidth/{triad}/quota_throttled"),
                json!(false),
            ),
        ),
        (
            "a CPU generation's share above one",
            "/cpu_generations/0/share".into(),
            set("/cpu_generations/0/share".into(), json!(1.5)),
        ),
        (
            "a generation's rows without their generation",
            "/by_generation/0".into(),
            Box::new(|doc: &mut Value| {
                let group = doc["by_generation"][0].as_object_mut().unwrap();
                group.remove("generation").unwrap();
            }),
        ),
        (
            "an empty list the model leaves out",
            "/warnings".into(),
            set("/warnings".into(), json!([])),
        ),
        (
            "a start that is no RFC 3339 time",
            "/run/started_at".into(),
            set("/run/started_at".into(), json!("yesterday")),
        ),
        (
            "an unknown run status",
            "/run/status".into(),
            set("/run/status".into(), json!("done")),
        ),
        (
            "an unknown key in the suite",
            "/run/suite/test/0".into(),
            Box::new(|doc: &mut Value| {
                let test = doc["run"]["suite"]["test"][0].as_object_mut().unwrap();
                test.insert("streems".into(), json!(4));
            }),
        ),
        (
            "a refill verdict out of the enum",
            format!("{tcp_at}/refill/verdict"),
            set(format!("{tcp_at}/refill/verdict"), json!("refills fast")),
        ),
        (
            "a shared-bucket verdict out of the enum",
            format!("{tcp_at}/bucket_sharing/verdict"),
            set(format!("{tcp_at}/bucket_sharing/verdict"), json!("maybe")),
        ),
        (
            "a refill's recovered bytes below zero",
            format!("{tcp_at}/refill/idles/0/recovered_bytes/min"),
            set(
                format!("{tcp_at}/refill/idles/0/recovered_bytes/min"),
                json!(-5.0),
            ),
        ),
        (
            "another schema version",
            "/schema_version".into(),
            set("/schema_version".into(), json!(2)),
        ),
        (
            "an unknown top-level field",
            String::new(),
            Box::new(|doc: &mut Value| {
                doc.as_object_mut()
                    .unwrap()
                    .insert("surprise".into(), json!(1));
            }),
        ),
        (
            "the network section dropped",
            String::new(),
            remove("", "network"),
        ),
    ];
    let mut accepted = Vec::new();
    for (what, at, change) in cases {
        let mut doc = full.clone();
        change(&mut doc);
        let errors = errors_of(&doc);
        // The error is where the change is, or inside it, or around it (`required` is said
        // of the object that lacks the field).
        let within = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
        if !errors
            .iter()
            .any(|(path, _)| within(path, &at) || within(&at, path))
        {
            accepted.push(format!("{what}: not refused at {at:?}, errors: {errors:?}"));
        }
    }
    assert!(
        accepted.is_empty(),
        "the schema lets through:\n{}",
        accepted.join("\n")
    );
}
