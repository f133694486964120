//! Issue 14, defect 6: a one-character key was accepted silently (and guessed in 11 tries).
//! The CLI refuses keys under 16 characters unless told to accept the risk.

use std::process::Command;

use crate::common::NETPROBE;

#[test]
fn a_short_key_is_refused_with_the_fix_and_accepted_only_when_asked() {
    for args in [
        vec!["server", "--port", "0", "--psk", "k"],
        vec!["client", "--server", "127.0.0.1:9", "--psk", "short-key"],
    ] {
        let out = Command::new(NETPROBE).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("fewer than 16") && stderr.contains("--allow-weak-key"),
            "{stderr}"
        );
    }
    // From the environment too (how the controller and docker pass it).
    let out = Command::new(NETPROBE)
        .args(["server", "--port", "0", "--once", "--idle-timeout", "1"])
        .env("NETPROBE_PSK", "tiny")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Asked for, it runs (and warns).
    let out = Command::new(NETPROBE)
        .args([
            "server",
            "--port",
            "0",
            "--once",
            "--idle-timeout",
            "1",
            "--allow-weak-key",
        ])
        .env("NETPROBE_PSK", "tiny")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("fewer than 16"),
        "{stderr}"
    );
    assert!(stderr.contains("listening"), "{stderr}");
}
