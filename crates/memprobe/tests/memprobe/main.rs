//! memprobe's integration tests, one binary with a module per theme.

mod binary;
