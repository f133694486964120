//! The controller's integration tests, one binary with a module per theme (like ripgrep's
//! `tests/tests.rs`): the controller and the AWS SDK link once, not once per file.
//!
//! The ignored ones need root, Docker, qemu, moto or Chromium, as each ignore reason says;
//! `scripts/test.sh` runs them theme by theme (`-- --ignored docker_backend::`), so the themes
//! that measure time never share the machine with each other.

mod common;

mod arm64_emulated;
mod deploy;
mod docker_backend;
mod ecs_moto;
mod fuzz_regressions;
mod html_report;
mod iam_policy;
mod local_backend;
mod recommend;
mod schema;
mod simulate_link;
