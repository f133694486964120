//! The controller reads result lines from probe output it does not trust (a container's logs,
//! CloudWatch): decoding must never panic, and whatever decodes must encode and decode back to
//! the same report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::result_line::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(report) = decode(line) {
        // Re-encoding may only fail by length (a number can print longer than it was written).
        match encode(&report) {
            Ok(again) => assert_eq!(decode(&again).expect("an encoded report decodes"), report),
            Err(probe_core::CoreError::ResultLineTooLong { .. }) => {}
            Err(e) => panic!("a decoded report did not encode: {e}"),
        }
    }
});
