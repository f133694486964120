//! Helpers shared by the integration tests that shape a link.

/// TCP goodput of a link shaped to `rate_bits_per_sec`: 1448 payload bytes ride in every
/// 1514-byte frame (1500 MTU, timestamps on, Ethernet header counted by `tc tbf`).
pub(crate) fn tcp_goodput(rate_bits_per_sec: f64) -> f64 {
    rate_bits_per_sec * 1448.0 / 1514.0
}

/// Asserts a measured TCP throughput came through a link shaped to `rate_bits_per_sec`.
///
/// The shaper is a hard cap, so the bound above is tight (3%). Below it, a busy CI host lost
/// 5.5% to scheduling in a 3 s run (180.7 against 191.3 Mbit/s), so the bound there is 10%.
/// Either way an unshaped pair (gigabits) or a rate set in bytes instead of bits (8 times
/// off) fails.
pub(crate) fn assert_shaped_to(bps: f64, rate_bits_per_sec: f64) {
    let goodput = tcp_goodput(rate_bits_per_sec);
    assert!(
        bps < goodput * 1.03 && bps > goodput * 0.90,
        "{bps} bit/s through a link shaped to {rate_bits_per_sec} bit/s (goodput {goodput})"
    );
}
