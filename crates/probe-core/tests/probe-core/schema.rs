//! Reports this build produces validate against the committed JSON Schema.

use probe_core::refill::{self, ReburstSeries};
use probe_core::report::{
    BandwidthResult, CpuUsage, Direction, IntervalSample, LatencyMetrics, LatencyPoint,
    StreamResult, TcpInfoSnapshot, Throughput, UdpMetrics,
};
use probe_core::{result_line, HostFacts, LatencyHistogram, Report, Role, REPORT_SCHEMA};

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    jsonschema::validator_for(&schema).expect("the committed schema is itself valid")
}

fn errors_of(value: &serde_json::Value) -> Vec<String> {
    validator()
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// 8 s at 400 Mbit/s, then 50: a 350 MB bucket.
fn drain() -> probe_core::regime::Regime {
    probe_core::regime::detect(
        &(0..20u64)
            .map(|i| probe_core::regime::Sample {
                start_ns: i * 1_000_000_000,
                duration_ns: 1_000_000_000,
                bits_per_sec: if i < 8 { 4e8 } else { 5e7 },
            })
            .collect::<Vec<_>>(),
        &Default::default(),
    )
}

/// A report with every section filled, host facts read from this machine.
fn full_report() -> Report {
    let mut rtt = LatencyHistogram::new();
    (1..1000).for_each(|i| rtt.record(10_000 + i * 7));
    let mut report = Report::new(
        "netprobe",
        env!("CARGO_PKG_VERSION"),
        Role::Client,
        "tcp-rr",
    );
    report.run_id = Some("run-1".into());
    report.started_at = Some("2026-11-24T21:00:00.000Z".into());
    report.measured_duration_ns = 5_000_000_000;
    report.host = HostFacts::collect();
    report.set_parameter("message_bytes", 64);
    let mut latency = LatencyMetrics::closed_loop(rtt.clone());
    latency.transactions_per_sec = 70_000.0;
    latency.rtt_uncorrected = Some(rtt);
    report.metrics.latency = Some(latency);
    report.metrics.throughput.push(Throughput {
        direction: Direction::ClientToServer,
        received_bytes: 1 << 30,
        measured_ns: 1_000_000_000,
        bits_per_sec: 8.0 * (1u64 << 30) as f64,
        streams: vec![StreamResult {
            index: 0,
            received_bytes: 1 << 30,
            bits_per_sec: 8.0 * (1u64 << 30) as f64,
            sender_socket: None,
            receiver_socket: None,
            sender_tcp_info: Some(TcpInfoSnapshot::default()),
        }],
        regime: Some(drain()),
    });
    // Two re-bursts that measure the rate (with its interval) and one that found the bucket full.
    let base = 6_250_000u64;
    let after_4 = [base + 25_000_000, base, base];
    let after_20 = [50_000_000, 50_000_000, base + 37_500_000, base, base];
    let after_60 = vec![50_000_000; 8]
        .into_iter()
        .chain([base; 3])
        .collect::<Vec<_>>();
    fn reburst(idle_s: u64, bytes: &[u64]) -> ReburstSeries<'_> {
        ReburstSeries {
            idle_ns: idle_s * 1_000_000_000,
            quiet_ns: Some(idle_s * 1_000_000_000 + 3_000_000),
            interval_ns: 1_000_000_000,
            interval_bytes: bytes,
            measured_ns: bytes.len() as u64 * 1_000_000_000,
            reached_cap: false,
        }
    }
    report.metrics.refill = Some(refill::analyze(
        Direction::ClientToServer,
        &drain(),
        &[
            reburst(4, &after_4),
            reburst(20, &after_20),
            reburst(60, &after_60),
        ],
    ));
    // Latency under load over the same drain: 50 probes/s, queued at the baseline, one lost.
    let probes: Vec<Option<u64>> = (0..1000u64)
        .map(|i| match i {
            900 => None,
            i if i < 400 => Some(300_000),
            _ => Some(200_000_000),
        })
        .collect();
    let retransmits = [
        0u64, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,
    ];
    report.metrics.latency_under_load = Some(probe_core::loaded_latency::analyze(
        &probe_core::loaded_latency::ProbeSeries {
            per_sec: 50.0,
            rtt_ns: &probes,
            interval_ns: 1_000_000_000,
            interval_retransmits: Some(&retransmits),
            segment_bytes: Some(1448),
        },
        &drain(),
        20_000_000_000,
    ));
    report.metrics.udp = Some(UdpMetrics {
        sent_datagrams: 100,
        received_datagrams: 99,
        lost_datagrams: 1,
        loss_ratio: 0.01,
        jitter_ns: 1500.0,
        datagram_bytes: 1400,
        receiver_socket_drops: Some(1),
        ..Default::default()
    });
    report.metrics.memory_bandwidth.push(BandwidthResult {
        kernel: "triad".into(),
        stores: "nontemporal".into(),
        implementation: "avx2-nt".into(),
        threads: 1,
        array_bytes: 3 << 28,
        bytes_per_pass: 3 << 28,
        passes: 10,
        best_bytes_per_sec: 2e10,
        median_bytes_per_sec: 1.9e10,
        worst_bytes_per_sec: 1.8e10,
        cv: 0.02,
        bus_bytes_per_sec: 2e10,
        sustained_bytes_per_sec: 1.9e10,
        throttled_periods: Some(0),
        throttled_ns: None,
    });
    report.metrics.memory_latency.push(LatencyPoint {
        working_set_bytes: 4096,
        ns_per_load: 1.2,
        huge_pages: false,
    });
    report.intervals.push(IntervalSample {
        direction: Some(Direction::ClientToServer),
        start_ns: 0,
        duration_ns: 1_000_000_000,
        bytes: 1 << 30,
        bits_per_sec: 8.6e9,
        transactions: None,
        cpu_bound: true,
    });
    report.metrics.cpu.push(CpuUsage {
        side: Role::Server,
        user_ns: 1,
        system_ns: 2,
        wall_ns: 3,
        share_of_quota: Some(0.5),
        voluntary_switches: Some(12),
        moved_bytes: Some(1 << 30),
        cpu_seconds_per_gb: Some(0.25),
        round_trips: Some(1000),
        cpu_ns_per_round_trip: Some(4_200.0),
        interval_throttled_ns: vec![0, 310_000_000],
        interval_steal_ns: vec![10_000_000, 0],
    });
    report
        .warnings
        .push("sender and receiver share a core".into());
    report
}

#[test]
fn a_full_report_from_this_machine_validates() {
    let line = result_line::encode(&full_report()).unwrap();
    let json = line.split_once(' ').unwrap().1;
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(errors_of(&value), Vec::<String>::new());
}

#[test]
fn a_refill_without_a_bucket_validates_and_a_wrong_verdict_does_not() {
    let mut report = full_report();
    let flat = probe_core::regime::Regime::Flat {
        bits_per_sec: 5e7,
        ran_ns: 20_000_000_000,
        may_be_burst_only: true,
    };
    report.metrics.refill = Some(refill::analyze(Direction::ServerToClient, &flat, &[]));
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(errors_of(&value), Vec::<String>::new());
    let full = serde_json::to_value(full_report()).unwrap();
    let refill = &full["metrics"]["refill"];
    assert_eq!(refill["verdict"], "at_baseline_rate", "{refill}");
    assert!(refill["refill_rates_bits_per_sec"]["ci95_low"].is_number());
    assert_eq!(refill["rebursts"][2]["full"], true);
    assert_eq!(refill["saturates_at_bucket"], true);
    let mut bad = full.clone();
    bad["metrics"]["refill"]["verdict"] = "refills_somehow".into();
    assert!(!errors_of(&bad).is_empty());
}

#[test]
fn latency_under_load_validates_with_its_verdict_and_a_wrong_stage_does_not() {
    let full = serde_json::to_value(full_report()).unwrap();
    let l = &full["metrics"]["latency_under_load"];
    assert_eq!(l["verdict"], "queues", "{l}");
    assert_eq!(l["stages"][0]["stage"], "burst");
    assert_eq!(l["stages"][1]["lost"], 1);
    assert!(
        l["stages"][1]["retransmit_share"].as_f64().unwrap() < 0.01,
        "{l}"
    );
    assert_eq!(l["intervals"].as_array().unwrap().len(), 20);
    let mut bad = full.clone();
    bad["metrics"]["latency_under_load"]["stages"][0]["stage"] = "warm-up".into();
    assert!(!errors_of(&bad).is_empty());
    let mut bad = full.clone();
    bad["metrics"]["latency_under_load"]["intervals"][0]["lost"] = (-1).into();
    assert!(!errors_of(&bad).is_empty());
}

/// Issue 25: the CPU's identity (an x86 one from this machine, a Graviton's MIDR), its clock
/// source and hypervisor are part of the host facts the schema knows.
#[test]
fn cpu_identity_clock_source_and_hypervisor_validate() {
    let mut report = full_report();
    report.host.cpu = probe_core::host::parse_cpu_identity(
        "processor\t: 0\nCPU implementer\t: 0x41\nCPU variant\t: 0x1\nCPU part\t: 0xd40\n\
         CPU revision\t: 1\n",
    );
    report.host.clocksource = Some("arch_sys_counter".into());
    report.host.hypervisor = Some("KVM (its clock source)".into());
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(errors_of(&value), Vec::<String>::new());
    assert_eq!(value["host"]["cpu"]["midr"]["part"], 0xd40);
    let mut bad = value.clone();
    bad["host"]["cpu"]["midr"]
        .as_object_mut()
        .unwrap()
        .remove("part");
    assert!(!errors_of(&bad).is_empty(), "a MIDR without its part");
    let mut bad = value;
    bad["host"]["cpu"]["family"] = "six".into();
    assert!(!errors_of(&bad).is_empty());
}

#[test]
fn the_schema_rejects_nulls_and_unknown_fields() {
    let mut value = serde_json::to_value(full_report()).unwrap();
    value["metrics"]["udp"]["jitter_ns"] = serde_json::Value::Null;
    assert!(!errors_of(&value).is_empty());
    let mut value = serde_json::to_value(full_report()).unwrap();
    value["surprise"] = 1.into();
    assert!(!errors_of(&value).is_empty());
}

#[test]
fn decode_accepts_what_encode_wrote() {
    let report = full_report();
    let line = result_line::encode(&report).unwrap();
    assert_eq!(result_line::decode(&line).unwrap(), report);
}
