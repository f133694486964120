//! Replays the fuzzers' inputs on stable Rust, in the ordinary test run: every seed under
//! `fuzz/seeds/TARGET/` and every crash input ever found under `fuzz/regressions/TARGET/`
//! goes through the same decoder its fuzz target drives, and must give a value or an error,
//! never a panic. `scripts/fuzz.sh` runs the fuzzers themselves (nightly, cargo-fuzz).

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut found = Vec::new();
    for kind in ["seeds", "regressions"] {
        let dir = root.join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep") {
                found.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

#[test]
fn control_frame_inputs_decode_or_fail_cleanly() {
    use netprobe::protocol::{decode_frame, encode_frame, Decoded, MAX_CLIENT_FRAME_BYTES};
    for (path, bytes) in inputs("control_frame") {
        if let Ok(Decoded::Frame { message, consumed }) =
            decode_frame(&bytes, MAX_CLIENT_FRAME_BYTES)
        {
            assert!(consumed <= bytes.len(), "{}", path.display());
            let again = encode_frame(&message);
            assert!(
                matches!(decode_frame(&again, usize::MAX),
                    Ok(Decoded::Frame { message: m, .. }) if m == message),
                "{} does not round-trip",
                path.display()
            );
        }
    }
}

#[test]
fn result_line_inputs_decode_or_fail_cleanly() {
    let all = inputs("result_line");
    assert!(
        !all.is_empty(),
        "the seeds hold at least one real result line"
    );
    let mut decoded = 0;
    for (path, bytes) in all {
        if let Some(Ok(report)) = text(&bytes).map(probe_core::result_line::decode) {
            decoded += 1;
            let again = probe_core::result_line::encode(&report).unwrap();
            assert_eq!(
                probe_core::result_line::decode(&again).unwrap(),
                report,
                "{}",
                path.display()
            );
        }
    }
    assert!(decoded > 0, "no seed result line decoded");
}

#[test]
fn suite_inputs_parse_or_fail_cleanly() {
    let all = inputs("suite");
    assert!(all.len() >= 2, "the seeds hold the shipped suites");
    for (path, bytes) in all {
        if let Some(Ok(suite)) = text(&bytes).map(fargate_bench::suite::Suite::from_toml) {
            for test in &suite.tests {
                let _ = test.probe_args();
                assert!(test.expected_secs().is_finite(), "{}", path.display());
            }
        }
    }
}

#[test]
fn iperf3_inputs_analyze_or_fail_cleanly() {
    let all = inputs("iperf3_json");
    assert!(!all.is_empty());
    for (path, bytes) in all {
        if let Some(text) = text(&bytes) {
            let seed = path.to_string_lossy().contains("/seeds/");
            let result = fargate_bench::analyze::analyze(text);
            assert!(
                !seed || result.is_ok(),
                "the seed {} is real iperf3 output: {result:?}",
                path.display()
            );
        }
    }
}
