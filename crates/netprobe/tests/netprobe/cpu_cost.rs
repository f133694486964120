//! Issue 26: what a side's CPU cost, against a real server on 127.0.0.1. Busy-poll round trips
//! spin instead of sleeping (no wake-up per round trip, `SO_BUSY_POLL` asked for, the CPU per
//! round trip reported); a stream reports each side's CPU seconds per GB; a side in a cgroup
//! with a CPU quota reports its throttled time per interval, and the report calls the figure
//! CPU-bound (root: makes a v1 or v2 cgroup).

use std::time::Duration;

use netprobe::{run_test, serve, ServerConfig, TestKind, TestRequest};
use probe_core::report::{CpuUsage, Role};
use probe_core::Report;

use crate::common::assert_schema_valid;

/// A server on 127.0.0.1, stopped by dropping its switch.
async fn server() -> (String, netprobe::StopSwitch) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = netprobe::StopSwitch::new();
    tokio::spawn(serve(listener, ServerConfig::default(), stop.requests()));
    (addr, stop)
}

fn side(report: &Report, role: Role) -> &CpuUsage {
    report
        .metrics
        .cpu
        .iter()
        .find(|c| c.side == role)
        .unwrap_or_else(|| panic!("no {role:?} CPU in {:?}", report.metrics.cpu))
}

/// Sleeps (voluntary context switches) per round trip of one side.
fn sleeps_per_round_trip(c: &CpuUsage) -> f64 {
    c.voluntary_switches.unwrap() as f64 / c.round_trips.unwrap() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_poll_round_trips_never_sleep_and_report_their_cpu() {
    let (addr, _stop) = server().await;
    for kind in [TestKind::TcpRr, TestKind::UdpRr] {
        for busy in [false, true] {
            let mut req = TestRequest::new(kind, Duration::from_millis(700));
            req.interval_ms = 350;
            req.busy_poll = busy;
            // Each side on its own CPU: spinning against one's own peer would only measure
            // the scheduler.
            req.server_cpus = vec![1];
            let mut config = netprobe::ClientConfig::new(addr.clone(), req);
            config.cpus = vec![0];
            let report = run_test(&config).await.unwrap();
            assert_schema_valid(&report);
            let what = format!("{kind:?} busy_poll={busy}");
            let p = &report.test.parameters;
            assert_eq!(p["busy_poll"], busy, "{what}");
            assert_eq!(
                p["rr_wait"],
                if busy { "busy-poll" } else { "blocking" },
                "{what}"
            );
            let latency = report.metrics.latency.as_ref().unwrap();
            assert!(latency.transactions > 100, "{what}: {latency:?}");
            for role in [Role::Client, Role::Server] {
                let c = side(&report, role);
                let trips = c.round_trips.unwrap();
                assert!(trips >= latency.transactions, "{what} {role:?}: {c:?}");
                let per_trip = c.cpu_ns_per_round_trip.unwrap();
                assert!(per_trip > 0.0, "{what} {role:?}: {c:?}");
                let sleeps = sleeps_per_round_trip(c);
                // Blocking: each side sleeps for (almost) every round trip; spinning: never,
                // but for the handful of waits before and after the test.
                if busy {
                    assert!(sleeps < 0.05, "{what} {role:?} sleeps {sleeps}: {c:?}");
                } else {
                    assert!(sleeps > 0.5, "{what} {role:?} sleeps {sleeps}: {c:?}");
                }
            }
            if busy {
                // Root (the test runner here) may set SO_BUSY_POLL; anyone else is told EPERM.
                for name in ["client_so_busy_poll", "server_so_busy_poll"] {
                    let said = p[name].as_str().unwrap();
                    assert!(said == "set to 50 us" || said.contains("EPERM"), "{said}");
                }
            } else {
                assert!(!p.contains_key("client_so_busy_poll"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reports_each_sides_cpu_per_gb() {
    let (addr, _stop) = server().await;
    let mut req = TestRequest::tcp_stream(Duration::from_millis(600));
    req.interval_ms = 200;
    let report = run_test(&netprobe::ClientConfig::new(addr, req))
        .await
        .unwrap();
    assert_schema_valid(&report);
    let received = report.metrics.throughput[0].received_bytes;
    for role in [Role::Client, Role::Server] {
        let c = side(&report, role);
        let moved = c.moved_bytes.unwrap();
        // Both ends moved the window's bytes and more (warm-up is none, the tail is some).
        assert!(moved >= received, "{role:?}: {moved} < {received}");
        let per_gb = c.cpu_seconds_per_gb.unwrap();
        let expected = (c.user_ns + c.system_ns) as f64 / moved as f64;
        assert!((per_gb - expected).abs() < 1e-12, "{role:?}: {c:?}");
        // Loopback TCP costs far more than nothing and far less than 10 s per GB.
        assert!(per_gb > 0.001 && per_gb < 10.0, "{role:?}: {per_gb}");
        assert_eq!(c.cpu_ns_per_round_trip, None);
        // A throttling counter is read per interval wherever a cgroup cpu.stat exists.
        if !probe_core::host::cpu_stat_files().is_empty() {
            assert_eq!(c.interval_throttled_ns.len(), 3, "{role:?}: {c:?}");
        }
    }
}

/// Issue 26: a tcp-stream sender splices by default and says so; `--send-path copy` copies;
/// the side that sent (the server with `--reverse`) is the one named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_path_each_side_took_is_reported() {
    let (addr, _stop) = server().await;
    for (path, flow, side, taken) in [
        (
            netprobe::SendPath::Auto,
            netprobe::Flow::Forward,
            "client",
            "splice",
        ),
        (
            netprobe::SendPath::Copy,
            netprobe::Flow::Forward,
            "client",
            "copy",
        ),
        (
            netprobe::SendPath::Auto,
            netprobe::Flow::Reverse,
            "server",
            "splice",
        ),
        (
            netprobe::SendPath::Splice,
            netprobe::Flow::Bidirectional,
            "server",
            "splice",
        ),
    ] {
        let mut req = TestRequest::tcp_stream(Duration::from_millis(400));
        req.interval_ms = 200;
        req.send_path = path;
        req.flow = flow;
        let report = run_test(&netprobe::ClientConfig::new(addr.clone(), req))
            .await
            .unwrap();
        assert_schema_valid(&report);
        let p = &report.test.parameters;
        let what = format!("{path:?} {flow:?}: {p:?}");
        assert_eq!(p["send_path"], path.name(), "{what}");
        assert_eq!(p[&format!("{side}_send_path")], taken, "{what}");
        assert!(!p.contains_key("client_send_path_fallback"), "{what}");
        if flow != netprobe::Flow::Bidirectional {
            let other = if side == "client" { "server" } else { "client" };
            assert!(!p.contains_key(&format!("{other}_send_path")), "{what}");
        }
        let received: u64 = report
            .metrics
            .throughput
            .iter()
            .map(|t| t.received_bytes)
            .sum();
        assert!(received > 1 << 20, "{what}: {received} bytes");
    }
}

/// A CPU cgroup with a CFS quota, on whichever hierarchy has the cpu controller here (v2's
/// `cpu.max`, else v1's `cpu.cfs_quota_us`); removed on drop.
struct QuotaCgroup {
    dir: std::path::PathBuf,
    parent: Option<std::path::PathBuf>,
}

impl QuotaCgroup {
    fn new(name: &str, vcpus: f64) -> Self {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        let mut v1 = None;
        for line in mounts.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (point, fstype, options) = (f[1], f[2], f[3]);
            let controllers = std::fs::read_to_string(format!("{point}/cgroup.controllers"));
            if fstype == "cgroup2"
                && controllers.is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
            {
                let parent = std::path::Path::new(point)
                    .join(format!("netprobe-test-{}", std::process::id()));
                let _ = std::fs::create_dir(&parent);
                std::fs::write(format!("{point}/cgroup.subtree_control"), "+cpu").unwrap();
                std::fs::write(parent.join("cgroup.subtree_control"), "+cpu").unwrap();
                let dir = parent.join(name);
                std::fs::create_dir(&dir).unwrap();
                let quota = (vcpus * 100_000.0) as u64;
                std::fs::write(dir.join("cpu.max"), format!("{quota} 100000")).unwrap();
                return Self {
                    dir,
                    parent: Some(parent),
                };
            }
            if fstype == "cgroup" && options.split(',').any(|o| o == "cpu") {
                v1 = Some(point.to_owned());
            }
        }
        let point = v1.expect("a cgroup hierarchy with the cpu controller (v1 or v2)");
        let dir = std::path::Path::new(&point)
            .join(format!("netprobe-test-{}-{name}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("cpu.cfs_period_us"), "100000").unwrap();
        std::fs::write(
            dir.join("cpu.cfs_quota_us"),
            ((vcpus * 100_000.0) as u64).to_string(),
        )
        .unwrap();
        Self { dir, parent: None }
    }

    /// Moves a process (all its threads) into the cgroup.
    fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for QuotaCgroup {
    fn drop(&mut self) {
        // The processes have exited by now (the server is killed first).
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(parent) = &self.parent {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// A receiver held to a tenth of a CPU is throttled in every interval; its report says so per
/// interval and names the throughput CPU-bound, not the network's.
#[test]
#[ignore = "needs root: makes a CPU cgroup (v1 or v2)"]
fn a_throttled_receiver_is_named_cpu_bound_with_its_throttled_time() {
    use crate::common::{client, Server};
    let quota = QuotaCgroup::new("server", 0.1);
    let mut server = Server::start(&["--cpus", "1"]);
    quota.add(server.child.id());
    let child = client(
        &server.addr,
        &[
            "--test",
            "tcp-stream",
            "-t",
            "2",
            "-i",
            "0.5",
            "--cpus",
            "0",
            "--json",
        ],
    )
    .spawn()
    .unwrap();
    let out = child.wait_with_output().unwrap();
    server.signal(libc::SIGKILL);
    let _ = server.wait_exit(Duration::from_secs(5));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema_valid(&report);
    let server_cpu = side(&report, Role::Server);
    let throttled = &server_cpu.interval_throttled_ns;
    assert_eq!(throttled.len(), 4, "{server_cpu:?}");
    // A tenth of a CPU leaves it throttled for a good part of the 2 s (a quarter of it was
    // seen on a busy machine; the kernel counts a throttled spell when it ends).
    let total: u64 = throttled.iter().sum();
    assert!(total > 200_000_000, "{throttled:?}");
    let bound = report.intervals.iter().filter(|i| i.cpu_bound).count();
    assert!(bound >= 2, "{:?}", report.intervals);
    let named = report
        .warnings
        .iter()
        .find(|w| w.contains("the server's cgroup was throttled"))
        .unwrap_or_else(|| panic!("{:?}", report.warnings));
    assert!(named.contains("(CPU-bound)"), "{named}");
    // The client was not held back.
    assert!(side(&report, Role::Client)
        .interval_throttled_ns
        .iter()
        .all(|t| *t == 0));
}
