//! Helpers shared by netprobe's integration tests: the binary, a server under test (its
//! address, its stderr as it comes, signals, RSS), set-up commands and the one shaped link.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) const NETPROBE: &str = env!("CARGO_BIN_EXE_netprobe");
pub(crate) const KEY: &str = "0123456789abcdef0123";

/// Shaped links (`netns_link`, `token_bucket`) run one at a time: two at once on 2 cores starve
/// each other, and they share this binary.
static LINKS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the one shaped link of the moment (a failed test does not poison it for the next).
pub(crate) fn one_link_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    LINKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a set-up command (`ip`, `tc`) and fails the test naming it when it fails.
pub(crate) fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server child, its address, and its stderr lines as they come.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
    lines: mpsc::Receiver<String>,
}

impl Server {
    pub(crate) fn start(extra: &[&str]) -> Self {
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

    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0);
    }

    /// Waits up to `limit` for the server to exit; its stderr and how long it took.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> (String, Duration) {
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

    pub(crate) fn rss_bytes(&self) -> u64 {
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

/// A client command against `addr` with the test key, its output captured.
pub(crate) fn client(addr: &str, args: &[&str]) -> Command {
    let mut c = Command::new(NETPROBE);
    c.args(["client", "--server", addr, "--psk", KEY])
        .args(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Real reports must validate against the committed JSON Schema.
pub(crate) fn assert_schema_valid(report: &probe_core::Report) {
    let schema: serde_json::Value = serde_json::from_str(probe_core::REPORT_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value = serde_json::to_value(report).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{} report: {errors:?}", report.test.kind);
}
