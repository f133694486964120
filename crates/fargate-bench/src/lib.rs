//! The fargate-bench controller: suites, planning, backends, the results store and reports.
//!
//! A [`Suite`] (tests x sizes x repetitions) is expanded by [`plan::expand`] into interleaved
//! items; [`runner::run`] executes them on a [`platform::Platform`] (this machine, a Docker
//! engine or ECS Fargate), appending each finished item to `results/<run-id>/results.jsonl`
//! with an fsync; [`merge::summarize`] turns records into a [`merge::Summary`] that the
//! [`export`] formats print.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use fargate_bench::{platform::local::LocalPlatform, runner, Suite};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let suite = Suite::default_suite();
//! let sizes = suite.validate()?;
//! let platform = Arc::new(LocalPlatform::new(None)?);
//! let plan = runner::RunPlan {
//!     suite,
//!     sizes,
//!     results_root: "results".into(),
//!     resume: None,
//!     server_ready_timeout: std::time::Duration::from_secs(10),
//!     progress: false,
//! };
//! let outcome = runner::run(platform, plan, std::future::pending()).await?;
//! let summary = fargate_bench::merge::summarize(&outcome.meta, &outcome.records, None);
//! fargate_bench::export::exporter(fargate_bench::export::Format::Table)
//!     .write(&summary, &mut std::io::stdout())?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod compare;
pub mod error;
pub mod export;
pub mod merge;
pub mod plan;
pub mod platform;
pub mod runner;
pub mod sizes;
pub mod store;
pub mod suite;

pub use error::{BenchError, Result};
pub use sizes::TaskSize;
pub use suite::Suite;
