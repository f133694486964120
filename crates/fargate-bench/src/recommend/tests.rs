//! `recommend` on hand-made summaries whose answers are known: figures are chosen so that
//! the pick, the refusals and their margins can be worked out by hand.

use std::collections::BTreeMap;

use probe_core::report::Direction;
use probe_core::stats::SampleSummary;

use super::*;
use crate::sizes::{PriceTable, Rate};
use crate::summary::{BucketRow, MemRow, NetRow, RttPercentiles};

mod generations;

pub(crate) fn s(values: &[f64]) -> SampleSummary {
    SampleSummary::from_values(values).unwrap()
}

/// Seven repetitions from `low` to `high` around `median`: with seven, the median's 95 %
/// interval is the lowest to the highest (1 - 2/128 = 98.4 %; the next ranks give 87.5 %).
pub(crate) fn seven(low: f64, median: f64, high: f64) -> SampleSummary {
    let v = s(&[low, median, median, median, median, median, high]);
    assert_eq!(v.median_ci95(), Some((low, high)));
    v
}

pub(crate) fn at(text: &str) -> Placement {
    text.parse().unwrap()
}

pub(crate) fn net(test: &str, kind: &str, size: &str, direction: Option<Direction>) -> NetRow {
    NetRow {
        test: test.into(),
        kind: kind.into(),
        size: at(size),
        arch: at(size).arch,
        direction,
        repetitions: 7,
        throughput_bits_per_sec: None,
        rtt: None,
        rtt_percentiles: None,
        transactions_per_sec: None,
        udp_loss_ratio: None,
        udp_receiver_drop_ratio: None,
        udp_jitter_ns: None,
        retransmits: None,
        cost_per_hour: None,
        gbit_per_sec_per_dollar_hour: None,
        regimes: BTreeMap::new(),
        bucket: None,
        refill: None,
        latency_under_load: None,
        bucket_sharing: None,
    }
}

/// A tcp-stream row in one direction whose series showed a bucket: `baseline` over
/// repetitions, a burst of `burst` bit/s lasting `lasted_s`.
pub(crate) fn stream(
    size: &str,
    direction: Direction,
    baseline: SampleSummary,
    burst: (f64, f64),
) -> NetRow {
    let mut r = net("tcp-stream", "tcp-stream", size, Some(direction));
    r.throughput_bits_per_sec = Some(baseline.clone());
    r.regimes = BTreeMap::from([("burst_then_baseline".into(), baseline.n)]);
    r.bucket = Some(BucketRow {
        repetitions: baseline.n,
        burst_bits_per_sec: s(&[burst.0; 7]),
        burst_duration_ns: s(&[burst.1 * 1e9; 7]),
        burst_bytes_above_baseline: s(&[1e9; 7]),
        baseline_bits_per_sec: baseline,
        burst_gbit_per_sec_per_dollar_hour: None,
    });
    r
}

pub(crate) fn up(size: &str, baseline: SampleSummary) -> NetRow {
    stream(size, Direction::ClientToServer, baseline, (5e9, 600.0))
}

/// A tcp-rr row whose repetitions' own p99 are `p99_ns`.
pub(crate) fn rr(size: &str, p99_ns: SampleSummary) -> NetRow {
    let mut r = net("tcp-rr", "tcp-rr", size, None);
    r.transactions_per_sec = Some(s(&[20_000.0; 7]));
    r.rtt_percentiles = Some(RttPercentiles {
        p50_ns: s(&[50e3; 7]),
        p90_ns: s(&[80e3; 7]),
        p99_ns,
        p99_9_ns: s(&[400e3; 7]),
    });
    r
}

pub(crate) fn triad(size: &str, threads: u32, best: SampleSummary) -> MemRow {
    MemRow {
        size: at(size),
        arch: at(size).arch,
        kernel: "triad".into(),
        stores: "cached".into(),
        threads,
        sustained_bytes_per_sec: best.clone(),
        best_bytes_per_sec: best,
        cost_per_hour: None,
        gb_per_sec_per_dollar_hour: None,
        quota_throttled: false,
    }
}

/// A run on ECS, on demand, whose rows name their architecture.
pub(crate) fn run(id: &str, network: Vec<NetRow>, memory_bandwidth: Vec<MemRow>) -> Merged {
    let mut doc = crate::export::tests::fixed_document();
    let s = &mut doc.summary;
    s.run.run_id = id.into();
    s.run.backend = "ecs".into();
    s.run.capacity = Some(Capacity::OnDemand);
    (s.pricing, s.network, s.memory_bandwidth) = (None, network, memory_bandwidth);
    s.memory_latency.clear();
    doc.hosts.clear();
    doc
}

fn needs(texts: &[&str]) -> Vec<Need> {
    Need::parse_all(&texts.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>()).unwrap()
}

fn prices() -> Prices {
    Prices::new(None, None, Arch::X86).unwrap()
}

/// A table where memory alone costs (0.01 $/GB-hour) on both architectures, so sizes of one
/// memory tie at any vCPU.
fn memory_priced() -> Prices {
    let mut p = prices();
    let rate = Rate {
        vcpu_hour: 0.0,
        gb_hour: 0.01,
    };
    p.table = PriceTable {
        as_of: "2026-12-01".into(),
        spot_as_of: None,
        regions: vec![crate::sizes::RegionPrices {
            region: "us-east-1".into(),
            x86: rate,
            arm: rate,
            spot_x86: None,
            spot_arm: None,
        }],
    };
    p
}

fn recommend_on(runs: &[Merged], texts: &[&str], limits: &Limits, p: &Prices) -> Recommendation {
    recommend(runs, &needs(texts), limits, p).unwrap()
}

fn candidate<'a>(rec: &'a Recommendation, offer: &str) -> &'a Candidate {
    rec.candidates
        .iter()
        .find(|c| c.offer.to_string() == offer)
        .unwrap_or_else(|| panic!("no candidate {offer} in {:#?}", rec.candidates))
}

#[test]
fn the_cheapest_size_is_picked_on_the_low_end_of_its_interval_not_its_median() {
    let runs = [run(
        "a",
        vec![
            up("0.5x1 X86_64", seven(280e6, 300e6, 320e6)),
            // Its median meets 500 Mbit/s; its interval reaches 480: refused.
            up("1x2 X86_64", seven(480e6, 520e6, 560e6)),
            up("2x4 X86_64", seven(600e6, 630e6, 660e6)),
            up("4x8 X86_64", seven(1000e6, 1100e6, 1200e6)),
        ],
        vec![],
    )];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500Mbit/s"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick.unwrap().to_string(), "2x4 X86_64");
    let pick = candidate(&rec, "2x4 X86_64");
    assert_eq!(pick.standing, Standing::Pick);
    let check = &pick.needs[0].checks[0];
    assert_eq!((check.judged, check.median), (600e6, 630e6));
    assert_eq!(check.basis, Basis::Interval);
    assert!((check.margin - 0.2).abs() < 1e-12, "{check:?}");
    assert_eq!(check.what, "tcp-stream client->server baseline");
    // us-east-1 X86_64 on demand: 2 x 0.04048 + 4 x 0.004445.
    assert!((pick.cost_per_hour.unwrap() - 0.09874).abs() < 1e-9);
    assert_eq!(candidate(&rec, "4x8 X86_64").standing, Standing::RunnerUp);
    let median_only = candidate(&rec, "1x2 X86_64");
    assert_eq!(median_only.standing, Standing::FallsShort);
    assert!(median_only.needs[0].met_at_median_only());
    assert!((median_only.needs[0].checks[0].margin + 0.04).abs() < 1e-12);
    let short = candidate(&rec, "0.5x1 X86_64");
    assert!(short.standing == Standing::FallsShort && !short.needs[0].met_at_median_only());
    // Ranked by price: the two cheaper ones that fall short come before the pick.
    let order: Vec<String> = rec
        .cheaper_than_pick()
        .map(|c| c.offer.to_string())
        .collect();
    assert_eq!(order, ["0.5x1 X86_64", "1x2 X86_64"]);
    assert!(rec.unmet.is_empty() && rec.not_measured.is_empty());
}

#[test]
fn a_ceiling_is_judged_on_the_high_end_and_refused_when_met_at_the_median_only() {
    let runs = [run(
        "a",
        vec![
            rr("1x2 X86_64", seven(150e3, 180e3, 210e3)),
            rr("2x4 X86_64", seven(120e3, 130e3, 190e3)),
        ],
        vec![],
    )];
    let rec = recommend_on(&runs, &["tcp-rr.p99<=200us"], &Limits::default(), &prices());
    assert_eq!(rec.pick.unwrap().to_string(), "2x4 X86_64");
    let refused = &candidate(&rec, "1x2 X86_64").needs[0];
    assert_eq!(refused.checks[0].judged, 210e3);
    assert!(refused.met_at_median_only());
    assert!((refused.checks[0].margin + 0.05).abs() < 1e-12);
    assert!((candidate(&rec, "2x4 X86_64").needs[0].checks[0].margin - 0.05).abs() < 1e-12);
}

#[test]
fn a_size_missing_a_figure_is_not_judged_and_never_interpolated() {
    let runs = [run(
        "a",
        vec![
            up("1x2 X86_64", seven(600e6, 630e6, 660e6)),
            rr("1x2 X86_64", seven(300e3, 310e3, 320e3)),
            // Meets the baseline, but ran no tcp-rr: between two sizes that did, never guessed.
            up("2x4 X86_64", seven(900e6, 950e6, 990e6)),
            up("4x8 X86_64", seven(1000e6, 1100e6, 1200e6)),
            rr("4x8 X86_64", seven(100e3, 110e3, 120e3)),
        ],
        vec![],
    )];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M", "tcp-rr.p99<=200us"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick.unwrap().to_string(), "4x8 X86_64");
    let gap = candidate(&rec, "2x4 X86_64");
    assert_eq!(gap.standing, Standing::NotJudged);
    assert!(gap.needs[0].meets);
    assert_eq!(
        gap.needs[1].not_measured.as_deref(),
        Some("no tcp-rr test ran")
    );
    assert_eq!(candidate(&rec, "1x2 X86_64").standing, Standing::FallsShort);

    // A need no run measured at all: listed, and nothing is picked.
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M", "memory.triad>=10GB/s"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick, None);
    assert_eq!(rec.not_measured.len(), 1);
    assert_eq!(rec.not_measured[0].need, 1);
    assert_eq!(rec.not_measured[0].why, "no memory test ran");
    assert!(rec
        .candidates
        .iter()
        .all(|c| c.standing == Standing::NotJudged));
}

#[test]
fn a_stream_without_a_bucket_has_no_baseline_and_says_what_to_run() {
    let mut flat = net(
        "tcp-stream",
        "tcp-stream",
        "1x2 X86_64",
        Some(Direction::ClientToServer),
    );
    flat.throughput_bits_per_sec = Some(seven(900e6, 950e6, 990e6));
    flat.regimes = BTreeMap::from([("flat".into(), 7)]);
    let runs = [run("a", vec![flat], vec![])];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick, None);
    let why = &rec.not_measured[0].why;
    assert!(
        why.contains("7x flat") && why.contains("tcp-stream.throughput"),
        "{why}"
    );
    let rec = recommend_on(
        &runs,
        &["tcp-stream.throughput>=500M"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick.unwrap().to_string(), "1x2 X86_64");
}

#[test]
fn no_size_meeting_a_need_names_the_closest() {
    let runs = [run(
        "a",
        vec![
            up("1x2 X86_64", seven(100e6, 110e6, 120e6)),
            up("2x4 X86_64", seven(400e6, 420e6, 440e6)),
        ],
        vec![],
    )];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick, None);
    let closest = rec.unmet[0].closest.as_ref().unwrap();
    assert_eq!(closest.offer.to_string(), "2x4 X86_64");
    assert!((closest.check.margin + 0.2).abs() < 1e-12);
}

#[test]
fn every_direction_must_meet_a_need_and_memory_offers_its_best_thread_count() {
    let runs = [run(
        "a",
        vec![
            up("1x2 X86_64", seven(600e6, 630e6, 660e6)),
            stream(
                "1x2 X86_64",
                Direction::ServerToClient,
                seven(300e6, 330e6, 360e6),
                (5e9, 600.0),
            ),
            up("2x4 X86_64", seven(600e6, 630e6, 660e6)),
        ],
        vec![
            triad("1x2 X86_64", 1, seven(5e9, 5.5e9, 6e9)),
            triad("2x4 X86_64", 1, seven(5e9, 5.5e9, 6e9)),
            triad("2x4 X86_64", 2, seven(9e9, 9.5e9, 10e9)),
        ],
    )];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M", "memory.triad>=8GB/s"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick.unwrap().to_string(), "2x4 X86_64");
    let small = candidate(&rec, "1x2 X86_64");
    assert_eq!(
        small.needs[0].checks[0].what,
        "tcp-stream server->client baseline"
    );
    let memory = &candidate(&rec, "2x4 X86_64").needs[1].checks[0];
    assert_eq!(memory.what, "memory triad cached x2 best");
    assert_eq!(memory.judged, 9e9);
}

#[test]
fn a_burst_must_last_as_long_as_the_need_says() {
    let runs = [run(
        "a",
        vec![
            stream(
                "1x2 X86_64",
                Direction::ClientToServer,
                seven(1e8, 1e8, 1e8),
                (5e9, 480.0),
            ),
            stream(
                "2x4 X86_64",
                Direction::ClientToServer,
                seven(1e8, 1e8, 1e8),
                (5e9, 720.0),
            ),
        ],
        vec![],
    )];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.burst>=2Gbit/s for 10m"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick.unwrap().to_string(), "2x4 X86_64");
    let short = &candidate(&rec, "1x2 X86_64").needs[0];
    assert!(short.checks[0].meets && !short.checks[1].meets);
    assert_eq!(
        short.checks[1].what,
        "tcp-stream client->server burst lasted"
    );
    assert!((short.margin().unwrap() + 0.2).abs() < 1e-12);
}

#[test]
fn ties_at_one_price_go_to_more_headroom_then_to_the_smaller_size() {
    // 0.5x2 and 1x2 cost the same under a memory-only price.
    let needs = ["tcp-stream.baseline>=500M"];
    let runs = [run(
        "a",
        vec![
            up("0.5x2 X86_64", seven(550e6, 560e6, 570e6)),
            up("1x2 X86_64", seven(800e6, 820e6, 840e6)),
        ],
        vec![],
    )];
    let rec = recommend_on(&runs, &needs, &Limits::default(), &memory_priced());
    assert_eq!(
        candidate(&rec, "0.5x2 X86_64").cost_per_hour,
        candidate(&rec, "1x2 X86_64").cost_per_hour
    );
    assert_eq!(rec.pick.unwrap().to_string(), "1x2 X86_64", "more headroom");
    // The same figures everywhere: the smaller size, then X86_64 before ARM64.
    let same = || seven(800e6, 820e6, 840e6);
    let runs = [run(
        "a",
        vec![
            up("1x2 ARM64", same()),
            up("1x2 X86_64", same()),
            up("0.5x2 ARM64", same()),
            up("0.5x2 X86_64", same()),
        ],
        vec![],
    )];
    let rec = recommend_on(&runs, &needs, &Limits::default(), &memory_priced());
    let order: Vec<String> = rec.candidates.iter().map(|c| c.offer.to_string()).collect();
    assert_eq!(
        order,
        ["0.5x2 X86_64", "0.5x2 ARM64", "1x2 X86_64", "1x2 ARM64"]
    );
    assert_eq!(rec.candidates[0].standing, Standing::Pick);
    assert!(rec.candidates[1..]
        .iter()
        .all(|c| c.standing == Standing::RunnerUp));
}

#[test]
fn limits_leave_out_architectures_and_capacities_and_say_so() {
    let mut spot = run(
        "spot",
        vec![up("1x2 ARM64", seven(600e6, 630e6, 660e6))],
        vec![],
    );
    spot.summary.run.capacity = Some(Capacity::Spot);
    let runs = [
        run(
            "x86",
            vec![up("1x2 X86_64", seven(600e6, 630e6, 660e6))],
            vec![],
        ),
        spot,
    ];
    let need = ["tcp-stream.baseline>=500M"];
    // Unlimited: Spot ARM64 is the cheapest (priced at Spot ARM64 rates).
    let rec = recommend_on(&runs, &need, &Limits::default(), &prices());
    assert_eq!(rec.pick.unwrap().to_string(), "1x2 ARM64 Spot");
    let spot_cost = candidate(&rec, "1x2 ARM64 Spot").cost_per_hour.unwrap();
    assert!((spot_cost - (0.010_346 + 2.0 * 0.001_136)).abs() < 1e-12);
    let on_demand = Limits {
        arches: vec![],
        capacities: vec![Capacity::OnDemand],
    };
    let rec = recommend_on(&runs, &need, &on_demand, &prices());
    assert_eq!(rec.pick.unwrap().to_string(), "1x2 X86_64");
    assert!(rec
        .notes
        .iter()
        .any(|n| n.contains("left out") && n.contains("1x2 ARM64 Spot")));
    // Nothing within the limits: every need is "not measured", within them.
    let x86_spot = Limits {
        arches: vec![Arch::X86],
        capacities: vec![Capacity::Spot],
    };
    let rec = recommend_on(&runs, &need, &x86_spot, &prices());
    assert!(rec.pick.is_none() && rec.candidates.is_empty());
    assert_eq!(
        rec.not_measured[0].why,
        "no measured size is within the limits"
    );
}

#[test]
fn fewer_repetitions_are_judged_on_their_range_and_one_on_its_value_flagged() {
    let runs = [run(
        "a",
        vec![
            up("1x2 X86_64", s(&[520e6, 600e6, 640e6])),
            up("2x4 X86_64", s(&[700e6])),
        ],
        vec![],
    )];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M"],
        &Limits::default(),
        &prices(),
    );
    let range = &candidate(&rec, "1x2 X86_64").needs[0].checks[0];
    assert_eq!((range.basis, range.judged), (Basis::Range, 520e6));
    let one = &candidate(&rec, "2x4 X86_64").needs[0].checks[0];
    assert_eq!(
        (one.basis, one.judged, one.repetitions),
        (Basis::OneRepetition, 700e6, 1)
    );
    assert!(rec.notes.iter().any(|n| n.contains("one repetition")));
    assert!(rec.notes.iter().any(|n| n.contains("2 to 5 repetitions")));
}

#[test]
fn two_runs_of_one_size_are_judged_on_the_worse_and_emulated_runs_are_said_so() {
    let mut local = run(
        "local",
        vec![up("1x2 X86_64", seven(400e6, 450e6, 480e6))],
        vec![],
    );
    local.summary.run.backend = "local".into();
    local.summary.run.capacity = None;
    let runs = [
        run(
            "ecs",
            vec![up("1x2 X86_64", seven(600e6, 630e6, 660e6))],
            vec![],
        ),
        local,
    ];
    let rec = recommend_on(
        &runs,
        &["tcp-stream.baseline>=500M"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(rec.pick, None);
    let c = candidate(&rec, "1x2 X86_64");
    assert_eq!(c.runs, ["ecs", "local"]);
    assert_eq!(c.needs[0].checks[0].run.as_deref(), Some("local"));
    assert!(rec.notes.iter().any(|n| n.contains("judged on the worse")));
    assert!(rec.notes.iter().any(|n| n.contains("emulated")));
}

#[test]
fn a_placement_without_an_architecture_takes_its_probes_and_task_needs_are_exact() {
    let mut one = run("a", vec![up("2x4", seven(600e6, 630e6, 660e6))], vec![]);
    one.hosts.push(crate::summary::HostRow {
        placement: at("2x4"),
        role: "client".into(),
        cpu: "Graviton3".into(),
        arch: Some(Arch::Arm),
        cpu_limit: None,
        memory_limit_bytes: None,
        kernel: None,
        zone: None,
        platform_version: None,
        clocksource: None,
        hypervisor: None,
    });
    let rec = recommend_on(
        &[one],
        &["tcp-stream.baseline>=500M", "memory>=4GB", "vcpu<=2"],
        &Limits {
            arches: vec![Arch::Arm],
            capacities: vec![],
        },
        &prices(),
    );
    assert_eq!(rec.pick.unwrap().to_string(), "2x4 ARM64");
    let memory = &rec.candidates[0].needs[1].checks[0];
    assert_eq!((memory.basis, memory.margin), (Basis::Exact, 0.0));
}

#[test]
fn a_label_no_run_has_or_a_figure_its_kind_lacks_is_a_usage_error() {
    let runs = [run(
        "a",
        vec![up("1x2 X86_64", seven(6e8, 6.3e8, 6.6e8))],
        vec![],
    )];
    let run_with = |text: &str| recommend(&runs, &needs(&[text]), &Limits::default(), &prices());
    let e = run_with("upload.baseline>=1M").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let e = e.to_string();
    assert!(
        e.contains("\"upload\"") && e.contains("\"tcp-stream\""),
        "{e}"
    );
    let mut labelled = runs[0].clone();
    labelled.summary.network[0].test = "upload".into();
    let e = recommend(
        &[labelled],
        &needs(&["upload.p99<=1ms"]),
        &Limits::default(),
        &prices(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("\"upload\" is a tcp-stream test and has no p99"),
        "{e}"
    );
}
