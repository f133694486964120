//! Latency under load against a token bucket whose truth we set: the routed `tc tbf` link of
//! [`crate::token_bucket`] (`rate` 50 Mbit/s the baseline, `peakrate` 400 Mbit/s the burst,
//! `burst` a 100 MB bucket: about 2.3 s of burst), with the queue in front of the bucket
//! sized two ways by tbf's `limit` (bytes it holds waiting for tokens):
//!
//! - 1,250,000 B, 200 ms at the baseline (25 ms at 400 Mbit/s): a shaper. The stream
//!   keeps the queue full, so the probes' round trips rise by up to 200 ms at the baseline, and
//!   only the moments the queue overflows lose a probe.
//! - 15,000 B, 2.4 ms at the baseline: a short queue, as good as a policer. Round trips stay
//!   within a few milliseconds and what does not fit is dropped: the stream's full segments,
//!   which it retransmits, far more than the 64-byte probes, which find room between them.
//!
//! (tbf's own `latency 200ms` would size the queue from `peakrate` and the bucket, not from
//! the baseline, so `limit` states it in bytes; `mtu 1600` makes tbf queue the forwarded
//! 64 KB GRO packets as single segments, so a 15 KB queue can hold any.) The probes leave the
//! client and queue behind the stream's data on the router's egress towards the server, as on
//! a shaped task's link. The stream runs cubic (`--latency-under-load`'s default): this host's
//! default, BBR, keeps the queue short by itself.
//!
//! Needs root (network namespaces, tc); `scripts/test.sh` runs these with `--ignored`.

use probe_core::loaded_latency::{LoadVerdict, LoadedLatency, Stage};
use probe_core::Report;

use crate::token_bucket::RoutedLink;

const MS: u64 = 1_000_000;

fn loaded(report: &Report) -> &LoadedLatency {
    report
        .metrics
        .latency_under_load
        .as_ref()
        .expect("a test with --latency-under-load reports it")
}

/// The until-baseline stream with 100 probes a second, in half-second intervals.
fn probe_under_load(link: &RoutedLink, limit_bytes: &str) -> Report {
    link.shape(&[
        "rate",
        "50mbit",
        "burst",
        "100mb",
        "peakrate",
        "400mbit",
        "mtu",
        "1600",
        "limit",
        limit_bytes,
    ]);
    let (report, took) = link.netprobe(&[
        "--test",
        "tcp-stream",
        "--time",
        "20",
        "--interval",
        "0.5",
        "--until-baseline",
        "--baseline-hold",
        "3",
        "--latency-under-load",
        "100",
    ]);
    let l = loaded(&report);
    let regime = report.metrics.throughput[0].regime.as_ref().unwrap();
    eprintln!(
        "limit {limit_bytes} B, took {took:.1?}: {}",
        regime.describe()
    );
    eprintln!("  {}", l.summary);
    for s in &l.stages {
        eprintln!(
            "  {:>8}: {:.2}-{:.2} s  p50 {:?} p99 {:?} max {:?} lost {}/{} retransmits {:?}",
            s.stage.name(),
            s.from_ns as f64 / 1e9,
            s.to_ns as f64 / 1e9,
            s.p50_ns,
            s.p99_ns,
            s.max_ns,
            s.lost,
            s.probes,
            s.retransmits
        );
    }
    for (k, i) in l.intervals.iter().enumerate() {
        let rate = report
            .intervals
            .get(k)
            .map_or(0.0, |x| x.bits_per_sec / 1e6);
        eprintln!(
            "  interval {k:>2}: {rate:>7.1} Mbit/s  probes {:>3} lost {:>3}  p50 {:>9?} p99 {:>9?}  retransmits {:?}",
            i.probes, i.lost, i.p50_ns, i.p99_ns, i.retransmits
        );
    }
    for s in &report.metrics.throughput[0].streams {
        eprintln!("  stream {}: {:?}", s.index, s.sender_tcp_info);
    }
    report
}

#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn a_shapers_queue_and_a_short_queue_are_told_apart() {
    let link = RoutedLink::new("ll");

    let shaper = probe_under_load(&link, "1250000");
    let l = loaded(&shaper);
    assert_eq!(l.verdict, LoadVerdict::Queues, "{}", l.summary);
    let (burst, baseline) = (
        l.stage(Stage::Burst).unwrap(),
        l.stage(Stage::Baseline).unwrap(),
    );
    // At the baseline the full queue holds 200 ms of data (payload and probes alike): the
    // round trips rise by up to that, and not past it (a little more for the ACK path and
    // scheduling).
    let p50 = baseline.p50_ns.unwrap();
    let p99 = baseline.p99_ns.unwrap();
    assert!(
        (100 * MS..=230 * MS).contains(&p50),
        "baseline p50 {p50} ns"
    );
    assert!(
        p99 <= 240 * MS,
        "baseline p99 {p99} ns: more than the 200 ms queue"
    );
    // At the burst the same bytes drain at the burst rate (400 Mbit/s at most: 25 ms; less
    // where this machine's router forwards slower).
    let burst_rate = match shaper.metrics.throughput[0].regime.as_ref() {
        Some(probe_core::regime::Regime::BurstThenBaseline(b)) => b.burst_bits_per_sec,
        other => panic!("no burst: {other:?}"),
    };
    let drain_ns = (1_250_000.0 * 8.0 / burst_rate * 1e9) as u64;
    assert!(
        burst.p99_ns.unwrap() <= drain_ns + drain_ns / 4 + 5 * MS,
        "burst p99 {:?}, the queue drains in {drain_ns} ns at the burst",
        burst.p99_ns
    );
    // Drops stay rare: only when the queue overflows.
    assert!(
        baseline.loss_share() < 0.01,
        "lost {} of {}",
        baseline.lost,
        baseline.probes
    );
    assert!(
        baseline.probes >= 200,
        "{} probes at the baseline",
        baseline.probes
    );
    assert!(
        l.summary.starts_with("queues: p99 rises from"),
        "{}",
        l.summary
    );

    let short = probe_under_load(&link, "15000");
    let l = loaded(&short);
    assert_eq!(l.verdict, LoadVerdict::Drops, "{}", l.summary);
    let baseline = l.stage(Stage::Baseline).unwrap();
    // Round trips stay flat: the queue holds 2.4 ms at the baseline (the tail may catch this
    // busy host's stalls; the verdict reads the median).
    let p50 = baseline.p50_ns.unwrap();
    assert!(p50 <= 5 * MS, "baseline p50 {p50} ns");
    // What does not fit is dropped: full segments far more than 64-byte probes, which find
    // room in the bytes a segment could not use. The stream retransmits them.
    let share = baseline.retransmit_share.unwrap_or(0.0);
    assert!(
        share >= 0.01,
        "{:.2} % of segments retransmitted",
        share * 100.0
    );
    assert!(l.summary.starts_with("drops: "), "{}", l.summary);
}
