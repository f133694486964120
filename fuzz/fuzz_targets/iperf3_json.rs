//! `fargate-bench analyze` reads iperf3 --json files people hand it: any bytes must give
//! either an analysis or an error in words, never a panic, and never a non-finite figure.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fargate_bench::analyze::analyze(text);
    }
});
