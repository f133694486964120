//! Issue 14, defects 3 and 4, against the real binary: a server told to stop (SIGTERM) refuses
//! new tests at once, lets running ones finish within its drain, and on a second signal or the
//! drain's end ends them, telling each client why; test buffers fit a memory budget or are
//! refused naming it, and memory goes back after every test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NETPROBE: &str = env!("CARGO_BIN_EXE_netprobe");
const KEY: &str = "0123456789abcdef0123";

/// A server child, its address, and its stderr lines as they come.
struct Server {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(NETPROBE)
            .args(["server", "--bind", "127.0.0.1", "--port", "0", "--psk", KEY])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let ready = stderr.next().unwrap().unwrap();
        let addr = ready
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {ready:?}"))
            .to_owned();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, addr, lines }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0);
    }

    /// Waits up to `limit` for the server to exit; its stderr and how long it took.
    fn wait_exit(&mut self, limit: Duration) -> (String, Duration) {
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < limit,
                "server still running {limit:?} after the stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = start.elapsed();
        std::thread::sleep(Duration::from_millis(100));
        (self.lines.try_iter().collect::<Vec<_>>().join("\n"), took)
    }

    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(addr: &str, args: &[&str]) -> Command {
    let mut c = Command::new(NETPROBE);
    c.args(["client", "--server", addr, "--psk", KEY])
        .args(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

fn finish(child: Child) -> (Output, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn a_stopping_server_refuses_new_tests_and_lets_running_ones_finish() {
    let mut server = Server::start(&[]);
    let running = client(&server.addr, &["--test", "tcp-rr", "-t", "2"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    server.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    // A new client is refused at once, told why, and does not retry.
    let start = Instant::now();
    let (late, late_err) = finish(
        client(&server.addr, &["--test", "tcp-rr", "-t", "1"])
            .spawn()
            .unwrap(),
    );
    assert_eq!(late.status.code(), Some(1), "{late_err}");
    assert!(late_err.contains("the server is stopping"), "{late_err}");
    assert!(start.elapsed() < Duration::from_secs(2), "{late_err}");
    // The running test ends normally, within the 5 s drain.
    let (done, done_err) = finish(running);
    assert!(done.status.success(), "{done_err}");
    assert!(String::from_utf8_lossy(&done.stdout).contains(probe_core::result_line::MARKER));
    let (log, _) = server.wait_exit(Duration::from_secs(3));
    assert!(log.contains("stopping: new tests are refused"), "{log}");
    assert!(log.contains("1 completed"), "{log}");
}

#[test]
fn the_drain_deadline_ends_a_long_test_and_the_client_is_told_why() {
    let mut server = Server::start(&["--drain", "1"]);
    let running = client(&server.addr, &["--test", "tcp-stream", "-t", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    server.signal(libc::SIGTERM);
    let (log, took) = server.wait_exit(Duration::from_secs(4));
    assert!(took >= Duration::from_millis(900), "drained {took:?}");
    assert!(log.contains("drain ended"), "{log}");
    let start = Instant::now();
    let (out, stderr) = finish(running);
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the server was stopped"), "{stderr}");
}

#[test]
fn a_second_signal_ends_running_tests_at_once() {
    let mut server = Server::start(&["--drain", "60"]);
    let running = client(&server.addr, &["--test", "tcp-rr", "-t", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    server.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGINT);
    let (log, took) = server.wait_exit(Duration::from_secs(3));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(log.contains("stopped again"), "{log}");
    let (out, stderr) = finish(running);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the server was stopped"), "{stderr}");
}

#[test]
fn test_buffers_fit_the_memory_budget_or_are_refused_and_memory_comes_back() {
    let server = Server::start(&["--memory-budget", "1G"]);
    // 128 streams of 16 MiB messages (2 GiB, the 2.05 GB RSS) do not fit 1 GiB.
    let (big, big_err) = finish(
        client(
            &server.addr,
            &[
                "--test",
                "tcp-stream",
                "-R",
                "-P",
                "128",
                "-l",
                "16M",
                "-t",
                "1",
            ],
        )
        .spawn()
        .unwrap(),
    );
    assert_eq!(big.status.code(), Some(1), "{big_err}");
    assert!(
        big_err.contains("memory budget of 1073741824 bytes") && big_err.contains("-P"),
        "{big_err}"
    );
    // 16 of them (258 MiB) fit, run, and give their memory back.
    let (ok, ok_err) = finish(
        client(
            &server.addr,
            &[
                "--test",
                "tcp-stream",
                "-R",
                "-P",
                "16",
                "-l",
                "16M",
                "-t",
                "1",
            ],
        )
        .spawn()
        .unwrap(),
    );
    assert!(ok.status.success(), "{ok_err}");
    let start = Instant::now();
    let mut rss = server.rss_bytes();
    while rss >= 32 << 20 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
        rss = server.rss_bytes();
    }
    assert!(rss < 32 << 20, "server RSS {rss} bytes 5 s after the test");
}
