//! A client whose server fails mid-test must fail too, with the server's cause. It used to exit
//! 0 with no output: the broken pipe to the server was mistaken for a closed stdout
//! (`netprobe ... | head`), and the docker backend then saw a client that "succeeded" without a
//! result line.

use std::time::{Duration, Instant};

use crate::common::{client, Server};

#[test]
fn a_server_that_fails_mid_test_fails_the_client_with_a_message() {
    let server = Server::start(&["--once", "--idle-timeout", "30"]);
    // CPU 99 does not exist: the server's data plane fails (EINVAL) and drops its sockets.
    let out = client(
        &server.addr,
        &["--test", "tcp-stream", "-t", "1", "--server-cpus", "99"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "no result line for a failed test");
    // One message with the server's cause (issue 14, defect 7: it reached the client as a
    // read error while the server knew it was EINVAL from sched_setaffinity).
    assert!(
        stderr.starts_with("netprobe:")
            && stderr.contains("the server's side of the test failed")
            && stderr.contains("sched_setaffinity")
            && stderr.contains("--server-cpus"),
        "{stderr}"
    );
}

/// Issue 14, defect 7: tcp-rr against a frozen server said "Resource temporarily unavailable
/// (os error 11)"; it must say the peer stopped answering, and within how long.
#[test]
fn a_frozen_server_is_named_as_silent_not_as_an_os_error() {
    let server = Server::start(&["--once", "--idle-timeout", "30"]);
    let running = client(&server.addr, &["--test", "tcp-rr", "-t", "20"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.signal(libc::SIGSTOP);
    let started = Instant::now();
    let out = running.wait_with_output().unwrap();
    let took = started.elapsed();
    server.signal(libc::SIGCONT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no answer from the peer within 5 s") && !stderr.contains("os error 11"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(9), "{took:?}");
}
