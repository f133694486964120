//! Every byte a server reads passes through this decoder: it must never panic, never allocate
//! past the cap, and re-encode whatever it accepts to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netprobe::protocol::{decode_frame, encode_frame, Decoded, MAX_CLIENT_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Frame { message, consumed }) = decode_frame(data, MAX_CLIENT_FRAME_BYTES) {
        assert!(consumed <= data.len());
        let again = encode_frame(&message);
        assert!(matches!(
            decode_frame(&again, usize::MAX),
            Ok(Decoded::Frame { message: m, .. }) if m == message
        ));
    }
});
