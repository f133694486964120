//! A client whose server fails mid-test must fail too. It used to exit 0 with no output: the
//! broken pipe to the server was mistaken for a closed stdout (`netprobe ... | head`), and the
//! docker backend then saw a client that "succeeded" without a result line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const NETPROBE: &str = env!("CARGO_BIN_EXE_netprobe");
const KEY: &str = "0123456789abcdef0123";

#[test]
fn a_server_that_fails_mid_test_fails_the_client_with_a_message() {
    let mut server = Command::new(NETPROBE)
        .args(["server", "--bind", "127.0.0.1", "--port", "0", "--once"])
        .args(["--idle-timeout", "30", "--psk", KEY])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let addr = ready
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {ready:?}"))
        .to_owned();
    // CPU 99 does not exist: the server's data plane fails (EINVAL) and drops its sockets.
    let out = Command::new(NETPROBE)
        .args([
            "client",
            "--server",
            &addr,
            "--psk",
            KEY,
            "--test",
            "tcp-stream",
        ])
        .args(["-t", "1", "--server-cpus", "99"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("netprobe:") && stderr.len() > 20,
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no result line for a failed test");
    // One message with the server's cause (issue 14, defect 7: it reached the client as a
    // read error while the server knew it was EINVAL from sched_setaffinity).
    assert!(
        stderr.contains("the server's side of the test failed")
            && stderr.contains("sched_setaffinity")
            && stderr.contains("--server-cpus"),
        "{stderr}"
    );
}

/// Issue 14, defect 7: tcp-rr against a frozen server said "Resource temporarily unavailable
/// (os error 11)"; it must say the peer stopped answering, and within how long.
#[test]
fn a_frozen_server_is_named_as_silent_not_as_an_os_error() {
    let mut server = Command::new(NETPROBE)
        .args(["server", "--bind", "127.0.0.1", "--port", "0", "--once"])
        .args(["--idle-timeout", "30", "--psk", KEY])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let addr = ready
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {ready:?}"))
        .to_owned();
    let client = Command::new(NETPROBE)
        .args(["client", "--server", &addr, "--psk", KEY])
        .args(["--test", "tcp-rr", "-t", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = server.id() as i32;
    // SAFETY: signals to our own child's pid.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let started = std::time::Instant::now();
    let out = client.wait_with_output().unwrap();
    let took = started.elapsed();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let _ = server.kill();
    let _ = server.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no answer from the peer within 5 s") && !stderr.contains("os error 11"),
        "{stderr}"
    );
    assert!(took < std::time::Duration::from_secs(9), "{took:?}");
}
