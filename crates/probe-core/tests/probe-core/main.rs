//! probe-core's integration tests, one binary with a module per theme.

mod schema;
