//! `memprobe`: memory bandwidth and latency inside a container, honest about what it measured.
//!
//! * Bandwidth: STREAM's copy, scale, add and triad with STREAM's byte accounting, plus
//!   read-only, write-only and libc `memcpy`; every store kernel with cached *and* non-temporal
//!   stores (AVX-512, AVX2 or SSE2, detected at run time), fenced before the clock stops.
//!   Arrays are at least 4x the last-level cache and at most a safe share of the cgroup memory
//!   headroom; workers are sized from the cgroup CPU quota, first-touch their own chunk and start
//!   each pass from a barrier; results are validated like STREAM's.
//! * Latency: a pointer chase through a random single cycle of cache lines from 4 KiB to beyond
//!   the LLC, plateaus named from the curve, and memory-level parallelism with 1-16 chains.
//! * Context: cgroup quota and throttling (`cpu.stat`) around each kernel, steal time, whether
//!   transparent huge pages really backed the arrays.
//!
//! # Example
//!
//! ```no_run
//! let mut config = memprobe::MemConfig::quick();
//! config.latency = false;
//! let report = memprobe::run(&config).unwrap();
//! for bw in &report.metrics.memory_bandwidth {
//!     println!("{} {} {:.1} GB/s", bw.kernel, bw.stores, bw.best_bytes_per_sec / 1e9);
//! }
//! ```
//!
//! # Platform specific behavior
//! x86_64 has vector kernels with non-temporal stores; other architectures (aarch64) run the
//! portable kernels with cached stores and say so in `implementation`. Pinning, huge pages and
//! throttling counters need Linux; elsewhere those facts are absent.
#![deny(missing_docs)]

mod bandwidth;
mod buffer;
pub mod cache;
pub mod error;
pub mod kernels;
mod latency;
mod measure;
pub mod report;
pub mod sizing;
mod sys;

use std::time::{Duration, SystemTime};

use probe_core::{HostFacts, Report, Role};

pub use bandwidth::PassPlan;
pub use error::{MemError, Result};
pub use kernels::{Isa, Kernel};
pub use latency::detect_plateaus;

/// What to measure and how long.
#[derive(Debug, Clone)]
pub struct MemConfig {
    /// Bytes per array (`--size`); chosen from the LLC and memory limit when `None`.
    pub array_bytes: Option<u64>,
    /// Exactly this many workers; else 1 and the effective CPU count.
    pub threads: Option<u32>,
    /// Measure every thread count from 1 to the effective CPUs.
    pub thread_sweep: bool,
    /// Pin worker `i` to the `i`-th CPU of the affinity mask.
    pub pin: bool,
    /// Ask for transparent huge pages (verified and reported).
    pub huge_pages: bool,
    /// Run the bandwidth kernels.
    pub bandwidth: bool,
    /// Run the latency curve and memory-level parallelism.
    pub latency: bool,
    /// When each kernel has measured enough.
    pub passes: PassPlan,
    /// Latency points per octave of working-set size.
    pub latency_points_per_octave: u32,
    /// Time per latency point.
    pub latency_min_time: Duration,
    /// Largest latency working set; chosen from the LLC and memory when `None`.
    pub latency_max_bytes: Option<u64>,
    /// Memory limit to honour on top of the cgroup's (used to emulate a task size).
    pub memory_limit_bytes: Option<u64>,
    /// The most the automatic array size may be (`None`: 4x the last-level cache, as STREAM
    /// asks). A quick run caps it, so a host with a very large cache (300 MiB here) still
    /// finishes in seconds; an explicit `array_bytes` is never capped.
    pub max_auto_array_bytes: Option<u64>,
    /// Run id for the report.
    pub run_id: Option<String>,
}

impl Default for MemConfig {
    fn default() -> Self {
        Self {
            array_bytes: None,
            threads: None,
            thread_sweep: false,
            pin: false,
            huge_pages: true,
            bandwidth: true,
            latency: true,
            passes: PassPlan {
                min_passes: 10,
                min_time: Duration::from_millis(300),
                max_passes: 1000,
            },
            latency_points_per_octave: 4,
            latency_min_time: Duration::from_millis(20),
            latency_max_bytes: None,
            memory_limit_bytes: None,
            max_auto_array_bytes: None,
            run_id: None,
        }
    }
}

/// A quick run's largest automatic array: three of them (192 MiB) pass in tens of milliseconds.
pub const QUICK_MAX_ARRAY_BYTES: u64 = 64 << 20;

impl MemConfig {
    /// A run of a few seconds for smoke tests and short suites.
    pub fn quick() -> Self {
        Self {
            passes: PassPlan {
                min_passes: 5,
                min_time: Duration::ZERO,
                max_passes: 50,
            },
            latency_points_per_octave: 2,
            latency_min_time: Duration::from_millis(4),
            latency_max_bytes: Some(64 << 20),
            max_auto_array_bytes: Some(QUICK_MAX_ARRAY_BYTES),
            ..Self::default()
        }
    }
}

/// Runs the configured measurements and returns the report.
///
/// # Errors
/// Sizing (a `--size` that does not fit), allocation, pinning and validation failures.
pub fn run(config: &MemConfig) -> Result<Report> {
    let started = SystemTime::now();
    let host = HostFacts::collect();
    let levels = cache::read_levels(std::path::Path::new("/sys/devices/system/cpu"));
    let llc = cache::last_level_bytes(&levels);
    let headroom = match (host.memory_headroom_bytes(), config.memory_limit_bytes) {
        (Some(h), Some(l)) => Some(h.min(l)),
        (h, l) => h.or(l),
    };
    let mut report = Report::new(
        "memprobe",
        env!("CARGO_PKG_VERSION"),
        Role::Standalone,
        "memory",
    );
    report.run_id = config.run_id.clone();
    report.started_at = Some(humantime::format_rfc3339_millis(started).to_string());
    let effective = host.worker_threads();
    let threads: Vec<u32> = match (config.threads, config.thread_sweep) {
        (Some(n), _) => vec![n.max(1)],
        (None, true) => (1..=effective).collect(),
        (None, false) if effective > 1 => vec![1, effective],
        (None, false) => vec![1],
    };
    let cpus: Vec<u32> = if config.pin {
        host.affinity_cpus.clone()
    } else {
        Vec::new()
    };
    report.set_parameter("threads", threads.clone());
    report.set_parameter("effective_cpus", host.effective_cpus);
    report.set_parameter("pinned", config.pin);
    if let Some(l) = llc {
        report.set_parameter("llc_bytes_claimed", l);
    }
    if host.effective_cpus < 1.0 {
        report.warnings.push(format!(
            "fractional CPU quota ({:.2} vCPU): best passes show the unthrottled burst, \
             sustained figures include CFS throttling",
            host.effective_cpus
        ));
    }
    let measure_start = std::time::Instant::now();

    if config.bandwidth {
        measure::run_bandwidth(&mut report, config, &host, llc, headroom, &threads, &cpus)?;
    }
    if config.latency {
        measure::run_latency(&mut report, config, llc, headroom, &levels)?;
    }
    report.measured_duration_ns = measure_start.elapsed().as_nanos() as u64;
    report.set_host(host);
    Ok(report)
}
