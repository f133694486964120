//! Shared foundation of the fargate-bench probes.
//!
//! Every probe (`netprobe`, `memprobe`) ends by printing one *result line*: a fixed marker, a space
//! and the compact JSON of a [`Report`]. The controller finds that line in whatever transport
//! carried the task's output (a pipe, `docker logs`, CloudWatch Logs), decodes it, and merges many
//! reports into one summary. This crate holds everything both sides agree on:
//!
//! * [`contract`]: what probes and controller agree on: test kinds, the request and its one
//!   check, probe options and arguments, quantities, the server's port and readiness line.
//! * [`report`]: the versioned result model. Field names carry their unit (`_ns`, `_bytes`,
//!   `_bits_per_sec`); values that do not exist are absent, never `null`, `NaN` or infinite.
//! * [`histogram`]: [`LatencyHistogram`], an HdrHistogram of nanoseconds serialized as base64 of the
//!   standard V2+DEFLATE encoding, so any HdrHistogram tool can read it; merging is lossless.
//! * [`regime`]: burst then baseline: a token bucket read out of a throughput series.
//! * [`loaded_latency`]: round trips beside a stream, per regime: does the limit queue or drop?
//! * [`refill`]: how fast that bucket fills again after an idle time, from the re-bursts that
//!   follow a drain.
//! * [`result_line`]: encoding a report as one line and finding it again in a stream of lines.
//! * [`stats`]: summaries across repetitions (median, spread, 95 % confidence interval).
//! * [`host`]: host and container facts (CPU model, cgroup quota and memory limit, ECS task
//!   metadata), with the parsing separated from the reading so it is tested on fixtures.
//!
//! The crate opens no sockets for measurement and never reads a clock: callers pass times in, so
//! everything here is deterministic and testable.
//!
//! # Example
//!
//! ```
//! use probe_core::{LatencyHistogram, Report, Role, result_line};
//!
//! let mut rtt = LatencyHistogram::new();
//! for ns in [12_000, 13_500, 14_200] {
//!     rtt.record(ns);
//! }
//! let mut report = Report::new("netprobe", "0.1.0", Role::Client, "tcp-rr");
//! report.metrics.latency = Some(probe_core::report::LatencyMetrics::closed_loop(rtt));
//! let line = result_line::encode(&report).unwrap();
//! let decoded = result_line::find_in_lines(line.lines()).unwrap();
//! assert_eq!(decoded, report);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bucket_sharing;
pub mod contract;
pub mod error;
pub mod histogram;
pub mod host;
pub mod loaded_latency;
pub mod refill;
pub mod regime;
pub mod report;
pub mod result_line;
pub mod stats;
pub mod units;

pub use error::{CoreError, Result};
pub use histogram::{HistogramSummary, LatencyHistogram};
pub use host::HostFacts;
pub use report::{Report, Role, SCHEMA_VERSION};

/// The JSON Schema (draft 2020-12) of a [`Report`], as committed in `schema/report.schema.json`.
pub const REPORT_SCHEMA: &str = include_str!("../schema/report.schema.json");
