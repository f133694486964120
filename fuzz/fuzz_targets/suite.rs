//! Suite files come from users and from the web: parsing and validating one must never panic,
//! whatever the TOML holds (sizes, durations, rates, message sizes, names).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(suite) = fargate_bench::suite::Suite::from_toml(text) {
            // What validates must also plan: every test's arguments and expected time.
            for test in &suite.tests {
                let _ = test.probe_args();
                assert!(test.expected_secs().is_finite());
            }
        }
    }
});
