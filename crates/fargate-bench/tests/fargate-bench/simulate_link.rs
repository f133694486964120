//! Issue 24, item 5: `simulate`'s model held against the real thing. A traffic profile sent by
//! netprobe's paced sender (`--rate-profile`, on TCP: what the link cannot take yet waits in
//! the sender, the backlog the model keeps) through a routed `tc tbf` link arrives, interval
//! by interval, as [`model::replay`] predicts for the link's `rate`, `peakrate` and `burst`.
//!
//! Needs root (network namespaces, tc); `scripts/test.sh` runs the theme on its own.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use fargate_bench::platform::link::{RoutedLink, TbfParams, SERVER_IP};
use fargate_bench::simulate::{model, Bucket, Profile};
use probe_core::report::Direction;
use probe_core::result_line;

use crate::common::CONTROLLER;

/// TCP payload in the bytes tbf counts (1448 of each 1514-byte frame, timestamps on).
const PAYLOAD: f64 = 1448.0 / 1514.0;

fn netprobe() -> PathBuf {
    std::path::Path::new(CONTROLLER)
        .parent()
        .expect("the controller's directory")
        .join("netprobe")
}

/// Removes the link's namespaces when the test ends, passed or not.
struct Link(RoutedLink);

impl Drop for Link {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Cumulative payload bytes the model delivers by each of `ends` (seconds).
fn predicted_by(outcome: &model::Outcome, ends: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(ends.len());
    let (mut total, mut last_t, mut samples) = (0.0, 0.0, outcome.samples.iter().peekable());
    for &end in ends {
        while let Some(s) = samples.next_if(|s| s.t_secs <= end + 1e-9) {
            total += s.delivered_bits_per_sec / 8.0 * (s.t_secs - last_t);
            last_t = s.t_secs;
        }
        out.push(total);
    }
    out
}

/// A link of 50 Mbit/s baseline, 200 Mbit/s burst and a 25 MB bucket; a profile of two
/// 150 Mbit/s bursts with pauses. By hand, in payload: the first burst spends the bucket in
/// 1.9 s and leaves 14 MB waiting, which the pause drains in 2.4 s at the baseline before
/// 0.6 s of quiet refill 3.5 MB; the second burst spends that in 0.3 s, leaves 22 MB waiting,
/// delivered 3.7 s into the last pause. Every part of the model is in it: burst, credit,
/// backlog at the baseline, a refill, and a backlog past a profile step's end.
#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn a_profile_through_a_tbf_link_arrives_as_simulate_predicts() {
    let params = TbfParams {
        rate_bits_per_sec: 50_000_000,
        peak_bits_per_sec: Some(200_000_000),
        bucket_bytes: 25_000_000,
    };
    let link = Link(RoutedLink::create("simtruth", &params).expect("root builds the link"));
    let [client_ns, _, server_ns] = &link.0.namespaces;
    let np = netprobe();
    let np = np.to_str().unwrap();
    let mut server = Command::new("ip")
        .args([
            "netns", "exec", server_ns, np, "server", "--bind", SERVER_IP, "--once",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let interval = 0.5;
    let out = Command::new("ip")
        .args([
            "netns", "exec", client_ns, np, "client", "--server", SERVER_IP,
        ])
        .args(["--test", "tcp-stream", "--time", "15", "--interval", "0.5"])
        .args(["--rate-profile", "150M:3s,0:3s,150M:2s,0:4s"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = result_line::find_in_lines(String::from_utf8_lossy(&out.stdout).lines()).unwrap();
    let measured: Vec<f64> = report
        .intervals
        .iter()
        .filter(|i| i.direction.is_none_or(|d| d == Direction::ClientToServer))
        .scan(0.0, |total, i| {
            *total += i.bytes as f64;
            Some(*total)
        })
        .collect();
    assert_eq!(measured.len(), 30, "15 s of 0.5 s intervals");

    let profile =
        Profile::from_rates(&[(150e6, 3.0), (0.0, 3.0), (150e6, 2.0), (0.0, 4.0)]).unwrap();
    let bucket = Bucket {
        burst_bytes_per_sec: 200e6 / 8.0 * PAYLOAD,
        bucket_bytes: 25e6 * PAYLOAD,
        baseline_bytes_per_sec: 50e6 / 8.0 * PAYLOAD,
        refill_bytes_per_sec: 50e6 / 8.0 * PAYLOAD,
    };
    let outcome = model::replay(&profile, &bucket, 0.01);
    let ends: Vec<f64> = (1..=measured.len()).map(|i| i as f64 * interval).collect();
    let predicted = predicted_by(&outcome, &ends);
    let mut worst = 0.0_f64;
    for ((end, got), want) in ends.iter().zip(&measured).zip(&predicted) {
        let off = got / want - 1.0;
        eprintln!(
            "{end:>5.1} s: delivered {:>6.2} MB, simulate {:>6.2} MB ({:+.1} %)",
            got / 1e6,
            want / 1e6,
            off * 100.0
        );
        worst = worst.max(off.abs());
    }
    // The model was not idle: it throttled, kept a backlog past the first burst, and the
    // measured run delivered it all by the end, as predicted.
    assert!(outcome.throttled_secs > 3.0, "{outcome:?}");
    assert!(
        outcome.max_backlog_bytes > 15e6,
        "{}",
        outcome.max_backlog_bytes
    );
    assert!(
        worst <= 0.05,
        "cumulative delivery off simulate's by {:.1} % at worst (allowed 5 %)",
        worst * 100.0
    );
}
