//! Issue 14, defects 3 and 4, against the real binary: a server told to stop (SIGTERM) refuses
//! new tests at once, lets running ones finish within its drain, and on a second signal or the
//! drain's end ends them, telling each client why; test buffers fit a memory budget or are
//! refused naming it, and memory goes back after every test.

use std::process::{Child, Output};
use std::time::{Duration, Instant};

use crate::common::Server;

/// Starts a client test against `addr` and lets it get going for `settle` before the caller
/// signals the server.
fn started(addr: &str, args: &[&str], settle: Duration) -> Child {
    let child = crate::common::client(addr, args).spawn().unwrap();
    std::thread::sleep(settle);
    child
}

/// Waits for a client and returns its output and its stderr as text.
fn finish(child: Child) -> (Output, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

/// Runs a client test against `addr` to its end.
fn run(addr: &str, args: &[&str]) -> (Output, String) {
    finish(crate::common::client(addr, args).spawn().unwrap())
}

#[test]
fn a_stopping_server_refuses_new_tests_and_lets_running_ones_finish() {
    let mut server = Server::start(&[]);
    let running = started(
        &server.addr,
        &["--test", "tcp-rr", "-t", "2"],
        Duration::from_millis(700),
    );
    server.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    // A new client is refused at once, told why, and does not retry.
    let start = Instant::now();
    let (late, late_err) = run(&server.addr, &["--test", "tcp-rr", "-t", "1"]);
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
    let running = started(
        &server.addr,
        &["--test", "tcp-stream", "-t", "30"],
        Duration::from_millis(800),
    );
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
    let running = started(
        &server.addr,
        &["--test", "tcp-rr", "-t", "30"],
        Duration::from_millis(800),
    );
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
    let (big, big_err) = run(
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
    );
    assert_eq!(big.status.code(), Some(1), "{big_err}");
    assert!(
        big_err.contains("memory budget of 1073741824 bytes") && big_err.contains("-P"),
        "{big_err}"
    );
    // 16 of them (258 MiB) fit, run, and give their memory back.
    let (ok, ok_err) = run(
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
