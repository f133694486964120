//! netprobe's integration tests, one binary with a module per theme (like ripgrep's
//! `tests/tests.rs`): the crate and its binary link once, not once per file.
//!
//! The ignored ones need root (network namespaces, `tc`) or iperf3; `scripts/test.sh` runs them
//! theme by theme (`cargo test --workspace --test integration -- --ignored netns_link::`).

mod common;

mod cpu_cost;
mod hostile;
mod latency_under_load;
mod loopback;
mod netns_link;
mod refill;
mod stopping;
mod token_bucket;
mod vanished_peer;
mod weak_key;
