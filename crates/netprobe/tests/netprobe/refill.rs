//! The refill test against a token bucket whose truth we set: the routed `tc tbf` link of
//! [`crate::token_bucket`] (`rate` 50 Mbit/s is the baseline and the refill rate, `peakrate`
//! 400 Mbit/s the burst, `burst` the bucket). tbf accrues tokens at `rate` while the link is
//! quiet and never beyond `burst`, so after 4 s and 20 s idle it holds 25 MB and 125 MB, which a
//! re-burst spends at 400 - 50 = 350 Mbit/s above the baseline in 0.57 s and 2.86 s.
//!
//! Figures are TCP payload, 1448 of every 1514 bytes tbf counts (0.956): a 50 Mbit/s refill
//! reads as 47.8 Mbit/s, like the baseline itself.
//!
//! Needs root (network namespaces, tc); `scripts/test.sh` runs these with `--ignored`.

use probe_core::refill::{Refill, RefillVerdict};
use probe_core::Report;

use crate::token_bucket::RoutedLink;

/// Payload over wire bytes at MTU 1500 with TCP timestamps.
const PAYLOAD: f64 = 1448.0 / 1514.0;

fn refill_of(report: &Report) -> &Refill {
    report
        .metrics
        .refill
        .as_ref()
        .expect("a refill test reports its refill")
}

fn within(ours: f64, truth: f64, share: f64, what: &str) {
    let off = (ours / truth - 1.0).abs();
    assert!(
        off <= share,
        "{what}: measured {ours:.4e}, expected {truth:.4e}, {:.1} % off",
        off * 100.0
    );
}

fn print(report: &Report, took: std::time::Duration) {
    let r = refill_of(report);
    eprintln!("took {took:.1?}; {}", r.summary);
    for b in &r.rebursts {
        eprintln!(
            "  idle {:.1} s, quiet {:.3} s: {} B above the baseline, burst {:.3} s, {:.2} Mbit/s, \
             {:.1} % of the bucket",
            b.idle_ns as f64 / 1e9,
            b.quiet_ns as f64 / 1e9,
            b.bytes_above_baseline,
            b.burst_duration_ns as f64 / 1e9,
            b.refill_bits_per_sec / 1e6,
            b.share_of_bucket.unwrap_or(0.0) * 100.0
        );
    }
}

#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn a_tbf_bucket_refills_at_its_rate_after_4_and_20_s() {
    let link = RoutedLink::new("rf");
    // The bucket of the token_bucket tests: 350 MiB, drained in about 8.4 s.
    link.shape(&[
        "rate", "50mbit", "burst", "350mb", "peakrate", "400mbit", "mtu", "64kb", "limit", "2mb",
    ]);
    let (report, took) = link.netprobe(&[
        "--test",
        "tcp-stream",
        "--interval",
        "0.2",
        "--baseline-hold",
        "3",
        "--time",
        "40",
        "--refill",
        "4s,20s",
    ]);
    print(&report, took);
    let r = refill_of(&report);
    assert_eq!(r.rebursts.len(), 2);
    let (after_4, after_20) = (&r.rebursts[0], &r.rebursts[1]);
    // The link was quiet for the idle time (plus a few ms of connection setup).
    for b in &r.rebursts {
        assert!(
            b.quiet_ns >= b.idle_ns && b.quiet_ns < b.idle_ns + 200_000_000,
            "{b:?}"
        );
        assert!(!b.full && !b.reached_cap, "{b:?}");
    }
    // tbf refills 25 MB and 125 MB of wire bytes.
    within(
        after_4.bytes_above_baseline as f64,
        25e6 * PAYLOAD,
        0.15,
        "bytes above the baseline after 4 s",
    );
    within(
        after_20.bytes_above_baseline as f64,
        125e6 * PAYLOAD,
        0.10,
        "bytes above the baseline after 20 s",
    );
    // Spent at 350 Mbit/s above the baseline: 0.57 s and 2.86 s.
    within(
        after_4.burst_duration_ns as f64,
        0.571e9,
        0.25,
        "re-burst after 4 s",
    );
    within(
        after_20.burst_duration_ns as f64,
        2.857e9,
        0.15,
        "re-burst after 20 s",
    );
    // The refill rate is tbf's rate.
    within(
        r.refill_bits_per_sec.unwrap(),
        50e6,
        0.10,
        "refill rate (against 50 Mbit/s)",
    );
    let spread = r
        .refill_rates_bits_per_sec
        .as_ref()
        .expect("two idle times");
    assert!(
        spread.min > 40e6 && spread.max < 55e6,
        "per idle time: {spread:?}"
    );
    assert_eq!(r.verdict, RefillVerdict::AtBaselineRate, "{}", r.summary);
    assert!(r.summary.starts_with("refills at about the baseline rate"));
    // 20 s is well short of a full refill of 367 MB (59 s at 50 Mbit/s).
    assert_eq!(r.saturates_at_bucket, None, "{}", r.summary);
    within(
        r.full_refill_ns.unwrap() as f64,
        58.7e9,
        0.15,
        "full refill",
    );
}

#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn an_idle_past_a_full_refill_gives_back_the_bucket_and_no_more() {
    let link = RoutedLink::new("rs");
    // A 50 MiB bucket (52.4 MB): drained in 1.2 s at 350 Mbit/s above the baseline, refilled
    // at 50 Mbit/s in 8.4 s. 3 s idle refills 18.75 MB; 15 s idle is past a full refill.
    link.shape(&[
        "rate", "50mbit", "burst", "50mb", "peakrate", "400mbit", "mtu", "64kb", "limit", "2mb",
    ]);
    // The server sends (-R): the client watches and ends each burst this time.
    let (report, took) = link.netprobe(&[
        "--test",
        "tcp-stream",
        "-R",
        "--interval",
        "0.2",
        "--baseline-hold",
        "3",
        "--time",
        "30",
        "--refill",
        "3s,15s",
    ]);
    print(&report, took);
    let r = refill_of(&report);
    let bucket = 50.0 * 1024.0 * 1024.0;
    let drained = r.bucket_bytes.unwrap() as f64;
    within(drained, bucket * PAYLOAD, 0.10, "the drain's bucket");
    let (after_3, after_15) = (&r.rebursts[0], &r.rebursts[1]);
    within(
        after_3.bytes_above_baseline as f64,
        18.75e6 * PAYLOAD,
        0.15,
        "bytes above the baseline after 3 s",
    );
    // Past a full refill: the bucket, within 10 % of its size, and no more.
    within(
        after_15.bytes_above_baseline as f64,
        bucket,
        0.10,
        "recovered bucket (against tbf's 50 MiB)",
    );
    within(
        after_15.bytes_above_baseline as f64,
        drained,
        0.10,
        "recovered bucket (against the drain's)",
    );
    assert!(after_15.full, "{after_15:?}");
    assert_eq!(r.saturates_at_bucket, Some(true), "{}", r.summary);
    // Only the partial re-burst measures the rate.
    within(
        r.refill_bits_per_sec.unwrap(),
        50e6,
        0.10,
        "refill rate (against 50 Mbit/s)",
    );
    assert_eq!(r.verdict, RefillVerdict::AtBaselineRate, "{}", r.summary);
    assert!(r.summary.contains("recovery saturates at the bucket"));
}
