//! A token-bucket link whose truth we set, shaped *in the path* as Fargate shapes outside the
//! task: three network namespaces, client - router - server, the router's `tc tbf` shaping its
//! egress towards each side with `rate` (the baseline), `peakrate` (the burst) and `burst` (the
//! bucket). iperf3 and netprobe measure the same link in the same test; netprobe's until-baseline
//! run must read the same burst, burst length, bucket and baseline out of it, and stop by itself.
//!
//! Needs root (network namespaces, tc) and iperf3; `scripts/test.sh` installs iperf3 and runs
//! these with `--ignored`.

use crate::common::{one_link_at_a_time, run, NETPROBE};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use probe_core::bucket_sharing::{BucketSharing, SharingVerdict};
use probe_core::regime::{self, BurstBaseline, DetectorConfig, Regime, Sample};
use probe_core::{result_line, Report};

const CLIENT_IP: &str = "10.232.1.1";
const ROUTER_C: &str = "10.232.1.2";
const ROUTER_S: &str = "10.232.2.1";
const SERVER_IP: &str = "10.232.2.2";

/// Client, router and server namespaces, removed on drop (also when a test fails).
pub(crate) struct RoutedLink {
    ns: [String; 3],
    to_client: String,
    to_server: String,
    /// Held for the link's life: rate tests run one at a time, since two shaped links in
    /// parallel on a 2-core machine starve each other's senders and miss their rates.
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl RoutedLink {
    pub(crate) fn new(tag: &str) -> Self {
        let id = format!("{tag}{}", std::process::id() % 100_000);
        let link = Self {
            _turn: one_link_at_a_time(),
            ns: [format!("tbc{id}"), format!("tbr{id}"), format!("tbs{id}")],
            to_client: format!("rc{id}"),
            to_server: format!("rs{id}"),
        };
        link.remove();
        let [c, r, s] = &link.ns;
        for ns in &link.ns {
            run(&["ip", "netns", "add", ns]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        let (cr, sr) = (format!("c{id}"), format!("s{id}"));
        run(&[
            "ip",
            "link",
            "add",
            &cr,
            "netns",
            c,
            "type",
            "veth",
            "peer",
            "name",
            &link.to_client,
            "netns",
            r,
        ]);
        run(&[
            "ip",
            "link",
            "add",
            &sr,
            "netns",
            s,
            "type",
            "veth",
            "peer",
            "name",
            &link.to_server,
            "netns",
            r,
        ]);
        for (ns, dev, addr) in [
            (c, &cr, CLIENT_IP),
            (r, &link.to_client, ROUTER_C),
            (r, &link.to_server, ROUTER_S),
            (s, &sr, SERVER_IP),
        ] {
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/30"),
                "dev",
                dev,
            ]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        run(&["ip", "-n", c, "route", "add", "default", "via", ROUTER_C]);
        run(&["ip", "-n", s, "route", "add", "default", "via", ROUTER_S]);
        run(&[
            "ip",
            "netns",
            "exec",
            r,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        link
    }

    /// (Re)shapes the router's egress towards both sides: a full bucket again.
    pub(crate) fn shape(&self, params: &[&str]) {
        for dev in [&self.to_client, &self.to_server] {
            let mut args = vec![
                "tc",
                "-n",
                &self.ns[1],
                "qdisc",
                "replace",
                "dev",
                dev,
                "root",
                "tbf",
            ];
            args.extend_from_slice(params);
            run(&args);
        }
    }

    /// One bucket for both directions: the router sends everything it forwards, either way,
    /// through one `tbf` on an ifb device (its egress hooks redirect there), so inbound and
    /// outbound draw on the same tokens (u32 matching every packet: this kernel has no matchall).
    pub(crate) fn shape_shared(&self, params: &[&str]) {
        let r = &self.ns[1];
        let ifb = format!("b{}", &self.to_client[2..]);
        self.unshape();
        let _ = Command::new("ip")
            .args(["-n", r, "link", "del", &ifb])
            .stderr(Stdio::null())
            .status();
        run(&["ip", "-n", r, "link", "add", &ifb, "type", "ifb"]);
        run(&["ip", "-n", r, "link", "set", &ifb, "up"]);
        let mut args = vec![
            "tc", "-n", r, "qdisc", "replace", "dev", &ifb, "root", "tbf",
        ];
        args.extend_from_slice(params);
        run(&args);
        for dev in [&self.to_client, &self.to_server] {
            run(&["tc", "-n", r, "qdisc", "add", "dev", dev, "clsact"]);
            run(&[
                "tc", "-n", r, "filter", "add", "dev", dev, "egress", "protocol", "all", "u32",
                "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", &ifb,
            ]);
        }
    }

    /// Shapes only what the router sends towards the server (the client's outbound); the
    /// other direction runs at the veth's own rate.
    pub(crate) fn shape_one_way(&self, params: &[&str]) {
        self.unshape();
        let mut args = vec![
            "tc",
            "-n",
            &self.ns[1],
            "qdisc",
            "replace",
            "dev",
            &self.to_server,
            "root",
            "tbf",
        ];
        args.extend_from_slice(params);
        run(&args);
    }

    /// Removes every qdisc and filter the shapes above put on the router's veths.
    fn unshape(&self) {
        for dev in [&self.to_client, &self.to_server] {
            for what in ["root", "clsact"] {
                let _ = Command::new("tc")
                    .args(["-n", &self.ns[1], "qdisc", "del", "dev", dev, what])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }

    fn remove(&self) {
        for ns in &self.ns {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }

    fn spawn_in(&self, ns: usize, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.ns[ns]])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A netprobe client run against a `--once` server across the link: its report and how
    /// long it took.
    pub(crate) fn netprobe(&self, args: &[&str]) -> (Report, Duration) {
        self.client(&["--once"], args)
    }

    /// A netprobe client run against a server started with `server_args`: its report and how
    /// long it took. A `--once` server is waited for; any other is stopped after the client.
    fn client(&self, server_args: &[&str], args: &[&str]) -> (Report, Duration) {
        let mut server_argv = vec![NETPROBE, "server", "--bind", SERVER_IP];
        server_argv.extend_from_slice(server_args);
        let mut server = Killed(self.spawn_in(2, &server_argv));
        let start = Instant::now();
        let mut argv = vec![NETPROBE, "client", "--server", SERVER_IP];
        argv.extend_from_slice(args);
        let out = self.spawn_in(0, &argv).wait_with_output().unwrap();
        let took = start.elapsed();
        if server_args.contains(&"--once") {
            let _ = server.0.wait();
        }
        assert!(
            out.status.success(),
            "netprobe client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report =
            result_line::find_in_lines(String::from_utf8_lossy(&out.stdout).lines()).unwrap();
        (report, took)
    }

    /// `--shared-bucket` across the link against a `--once` server (one test of two phases,
    /// as the controller's one-test servers run it): the drain's report with the verdict.
    fn bucket_sharing(&self, args: &[&str]) -> (BucketSharing, Report) {
        let mut argv = vec!["--shared-bucket"];
        argv.extend_from_slice(args);
        let (report, _) = self.netprobe(&argv);
        let sharing = report
            .metrics
            .bucket_sharing
            .clone()
            .expect("--shared-bucket reports its answer");
        eprintln!(
            "drained: {}\nother:   {}\nverdict: {}",
            regime_of(&report).describe(),
            sharing.other.describe(),
            sharing.summary
        );
        (sharing, report)
    }

    /// iperf3 -R: the server sends, so the client's intervals are what the receiver got.
    fn iperf3(&self, secs: u32) -> Vec<Sample> {
        let mut server = Killed(self.spawn_in(2, &["iperf3", "-s", "-1", "-B", SERVER_IP]));
        std::thread::sleep(Duration::from_millis(300));
        let out = self
            .spawn_in(
                0,
                &[
                    "iperf3",
                    "-c",
                    SERVER_IP,
                    "-R",
                    "-t",
                    &secs.to_string(),
                    "-J",
                ],
            )
            .wait_with_output()
            .unwrap();
        let _ = server.0.wait();
        assert!(
            out.status.success(),
            "iperf3 failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| Sample {
                start_ns: (i["sum"]["start"].as_f64().unwrap() * 1e9) as u64,
                duration_ns: (i["sum"]["seconds"].as_f64().unwrap() * 1e9) as u64,
                bits_per_sec: i["sum"]["bits_per_second"].as_f64().unwrap(),
            })
            .collect()
    }
}

impl Drop for RoutedLink {
    fn drop(&mut self) {
        self.remove();
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A bucket of 350 MB drained at 400 - 50 Mbit/s lasts about 8 s, then 50 Mbit/s holds.
const BUCKET: [&str; 10] = [
    "rate", "50mbit", "burst", "350mb", "peakrate", "400mbit", "mtu", "64kb", "limit", "2mb",
];

fn regime_of(report: &Report) -> &Regime {
    report.metrics.throughput[0]
        .regime
        .as_ref()
        .expect("a bulk report carries its regime")
}

fn bucket(r: &Regime) -> &BurstBaseline {
    r.burst_baseline()
        .unwrap_or_else(|| panic!("no burst then baseline: {}", r.describe()))
}

fn within(ours: f64, truth: f64, share: f64, what: &str) {
    let off = (ours / truth - 1.0).abs();
    assert!(
        off <= share,
        "{what}: ours {ours:.4e}, iperf3 {truth:.4e}, {:.2} % off",
        off * 100.0
    );
}

#[test]
#[ignore = "needs root (network namespaces, tc) and iperf3"]
fn until_baseline_reads_the_bucket_iperf3_sees_and_stops_by_itself() {
    let link = RoutedLink::new("tcp");
    link.shape(&BUCKET);
    let iperf3 = regime::detect(&link.iperf3(20), &DetectorConfig::default());
    let truth = bucket(&iperf3).clone();
    eprintln!("iperf3:   {}", iperf3.describe());

    link.shape(&BUCKET); // a full bucket again
    let (report, took) = link.netprobe(&[
        "--test",
        "tcp-stream",
        "--until-baseline",
        "--baseline-hold",
        "5",
        "--time",
        "60",
    ]);
    let ours = bucket(regime_of(&report)).clone();
    eprintln!(
        "netprobe: {} (took {took:.1?})",
        regime_of(&report).describe()
    );

    within(
        ours.burst_bits_per_sec,
        truth.burst_bits_per_sec,
        0.05,
        "burst",
    );
    within(
        ours.baseline_bits_per_sec.median,
        truth.baseline_bits_per_sec.median,
        0.02,
        "baseline",
    );
    within(
        ours.burst_bytes_above_baseline as f64,
        truth.burst_bytes_above_baseline as f64,
        0.10,
        "bucket",
    );
    let allowed = 1_000_000_000 + truth.change_ns / 10;
    assert!(
        ours.change_ns.abs_diff(truth.change_ns) <= allowed,
        "change at {} ns, iperf3 {} ns",
        ours.change_ns,
        truth.change_ns
    );
    // Stopped itself: the baseline held 5 s after an ~8 s burst, far under the 60 s cap.
    assert!(
        report.measured_duration_ns < 25_000_000_000,
        "{}",
        report.measured_duration_ns
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(ours.baseline_held_ns >= 5_000_000_000);
}

#[test]
#[ignore = "needs root (network namespaces, tc) and iperf3"]
fn udp_above_the_baseline_sees_the_same_bucket_from_the_receiver() {
    let link = RoutedLink::new("udp");
    link.shape(&BUCKET);
    // The client receives (-R): the watcher is the client this time.
    let (report, took) = link.netprobe(&[
        "--test",
        "udp-stream",
        "-R",
        "--rate",
        "300M",
        "--until-baseline",
        "--baseline-hold",
        "4",
        "--time",
        "60",
    ]);
    eprintln!(
        "netprobe udp: {} (took {took:.1?}); {:?}; warnings {:?}",
        regime_of(&report).describe(),
        report.metrics.udp,
        report.warnings
    );
    let b = bucket(regime_of(&report)).clone();
    // Payload of 1400 in 1442-byte frames: the receiver gets 1400/1442 of each rate.
    let payload = 1400.0 / 1442.0;
    within(
        b.burst_bits_per_sec,
        300e6,
        0.05,
        "udp burst (the offered payload rate)",
    );
    within(
        b.baseline_bits_per_sec.median,
        50e6 * payload,
        0.03,
        "udp baseline",
    );
    // 367 MB drained at 300 - 50 Mbit/s: about 12 s of burst, then the 4 s hold.
    assert!(
        report.measured_duration_ns < 30_000_000_000,
        "{}",
        report.measured_duration_ns
    );
}

#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn a_plain_rate_is_flat_and_runs_its_whole_cap() {
    let link = RoutedLink::new("flat");
    link.shape(&["rate", "200mbit", "burst", "256kb", "latency", "50ms"]);
    let (report, _) = link.netprobe(&[
        "--test",
        "tcp-stream",
        "--until-baseline",
        "--baseline-hold",
        "3",
        "--time",
        "8",
    ]);
    let r = regime_of(&report);
    assert!(matches!(r, Regime::Flat { .. }), "{}", r.describe());
    assert_eq!(
        report.measured_duration_ns, 8_000_000_000,
        "no change, so the cap"
    );
}

/// A 150 MB bucket: drained at 400 - 50 Mbit/s in about 3.6 s.
const SMALL_BUCKET: [&str; 10] = [
    "rate", "50mbit", "burst", "150mb", "peakrate", "400mbit", "mtu", "64kb", "limit", "2mb",
];

/// Drain outbound until the baseline holds 3 s (capped at 12 s), then run inbound the same way.
const SHARING_RUN: [&str; 9] = [
    "--test",
    "tcp-stream",
    "--until-baseline",
    "--baseline-hold",
    "3",
    "--interval",
    "0.5",
    "--time",
    "12",
];

/// Issue 24, item 2: each direction shaped by its own tbf, so with outbound drained inbound
/// still bursts from a full bucket: two buckets.
#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn shared_bucket_finds_two_buckets_on_a_link_shaped_each_way() {
    let link = RoutedLink::new("sb2");
    link.shape(&SMALL_BUCKET);
    let (sharing, _) = link.bucket_sharing(&SHARING_RUN);
    assert_eq!(
        sharing.verdict,
        SharingVerdict::Separate,
        "{}",
        sharing.summary
    );
    assert!(
        sharing.summary.starts_with("two buckets"),
        "{}",
        sharing.summary
    );
}

/// Issue 24, item 2: both directions through one tbf (an ifb in the router): with outbound
/// drained, inbound starts at the baseline. One shared bucket.
#[test]
#[ignore = "needs root (network namespaces, tc, ifb)"]
fn shared_bucket_finds_one_bucket_when_both_directions_share_a_shaper() {
    let link = RoutedLink::new("sb1");
    link.shape_shared(&SMALL_BUCKET);
    let (sharing, report) = link.bucket_sharing(&SHARING_RUN);
    assert_eq!(
        sharing.verdict,
        SharingVerdict::Shared,
        "{}",
        sharing.summary
    );
    assert!(
        sharing.summary.starts_with("one shared bucket"),
        "{}",
        sharing.summary
    );
    // The drain itself still read the bucket: the shaper is real in this direction too.
    let drained = bucket(regime_of(&report));
    assert!(
        drained.burst_bytes_above_baseline > 100_000_000,
        "{drained:?}"
    );
}

/// Issue 24, item 2, over UDP: inbound drained first (the server sends), then outbound on the
/// same socket pair (a reverse stream's server answers only the address it heard from), both
/// through one tbf: outbound starts at the drained baseline. One shared bucket.
#[test]
#[ignore = "needs root (network namespaces, tc, ifb)"]
fn shared_bucket_over_udp_finds_one_bucket_when_both_directions_share_a_shaper() {
    let link = RoutedLink::new("sbu");
    link.shape_shared(&SMALL_BUCKET);
    let (sharing, report) = link.bucket_sharing(&[
        "--test",
        "udp-stream",
        "-R",
        "--rate",
        "300M",
        "--baseline-hold",
        "3",
        "--interval",
        "0.5",
        "--time",
        "20",
    ]);
    assert_eq!(
        sharing.drained,
        probe_core::report::Direction::ServerToClient
    );
    assert_eq!(
        sharing.verdict,
        SharingVerdict::Shared,
        "{}",
        sharing.summary
    );
    let drained = bucket(regime_of(&report));
    assert!(
        drained.burst_bytes_above_baseline > 100_000_000,
        "{drained:?}"
    );
}

/// Issue 24, item 2: only outbound shaped; inbound runs at the veth's rate, far above the
/// drained baseline, with no burst: not this bucket.
#[test]
#[ignore = "needs root (network namespaces, tc)"]
fn shared_bucket_says_an_unshaped_direction_is_not_held_by_the_bucket() {
    let link = RoutedLink::new("sb0");
    link.shape_one_way(&SMALL_BUCKET);
    let (sharing, _) = link.bucket_sharing(&SHARING_RUN);
    assert_eq!(
        sharing.verdict,
        SharingVerdict::OtherUnlimited,
        "{}",
        sharing.summary
    );
    assert!(
        sharing.summary.starts_with("not shared"),
        "{}",
        sharing.summary
    );
}
