//! The fargate-bench controller: suites, planning, backends, the results store and reports.
//!
//! A validated [`Suite`] (tests x sizes x architectures x repetitions) is expanded by [`plan::expand`] into interleaved
//! items; [`runner::run`] executes them on a [`platform::Platform`] (this machine, a Docker
//! engine or ECS Fargate), appending each finished item to `results/<run-id>/results.jsonl`
//! with an fsync; [`merge::summarize`] (or [`command::summarize_dir`], one record at a time)
//! folds records into one [`summary::Merged`] document (the [`summary::Summary`] tables plus
//! merged histograms, interval series and hosts) that every [`export`] format reads.
//!
//! The binary is a thin shell over [`command`]: flags become a [`command::RunRequest`] (a
//! validated [`Suite`] from a [`suite::SuiteSource`] with [`suite::SuiteOverrides`], a
//! [`BackendConfig`], [`sizes::Prices`]) and [`command::run`] does the rest, so another tool
//! drives a run exactly as the CLI does; every output it prints is written by [`export`].
//!
//! Decisions read merged documents only: [`recommend`] names the cheapest size whose figures
//! meet an operator's needs, [`compare`] (with its `--fail-if` [`compare::gate`]) says what
//! changed between two runs, and [`history`] lays out many runs of one suite over time; they
//! name figures as [`figure`] does (`tcp-stream.baseline`).
//!
//! # Example
//!
//! ```no_run
//! use fargate_bench::command::{self, RunRequest};
//! use fargate_bench::{runner::RunPlan, sizes::{Arch, Prices}, suite::{SuiteOverrides, SuiteSource}};
//! use fargate_bench::{BackendConfig, Suite};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let suite = Suite::load(SuiteSource::Default { ecs: false }, &SuiteOverrides::default())?;
//! let backend = BackendConfig::local();
//! let plan = RunPlan {
//!     suite,
//!     results_root: "results".into(),
//!     resume: None,
//!     progress: false,
//! };
//! let prices = Prices::new(None, None, Arch::X86)?;
//! let report = command::run(RunRequest { plan, backend, prices, max_cost_usd: None }, std::future::pending()).await?;
//! fargate_bench::export::write_document(
//!     fargate_bench::export::Format::Table,
//!     &report.merged,
//!     &mut std::io::stdout(),
//! )?;
//! report.all_ok()?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod analyze;
pub mod backend;
pub mod command;
pub mod compare;
pub mod dry_run;
pub mod error;
pub mod estimate;
pub mod export;
pub mod figure;
pub mod files;
pub mod history;
pub mod merge;
pub mod plan;
pub mod platform;
pub mod recommend;
pub mod runner;
pub mod simulate;
pub mod sizes;
pub mod store;
pub mod suite;
pub mod summary;
pub mod versus;

pub use backend::{Backend, BackendConfig};
pub use error::{BenchError, Result};
pub use sizes::TaskSize;
pub use suite::Suite;
