//! `memprobe`: the memory probe binary. A thin shell over the `memprobe` library.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use memprobe::{MemConfig, MemError};

/// Memory bandwidth (STREAM kernels, cached and non-temporal stores) and latency (pointer
/// chase, cache plateaus, memory-level parallelism) inside this container.
///
/// Prints a table on stderr and one result line on stdout (or, with --json, the full report).
/// Thread counts follow the cgroup CPU quota, array sizes the last-level cache and the cgroup
/// memory limit.
///
/// Examples:
///   memprobe --quick                 a few seconds, for smoke tests
///   memprobe --thread-sweep --pin    bandwidth for 1..N pinned workers
///   memprobe --size 512M --no-latency
#[derive(Debug, Parser)]
#[command(name = "memprobe", version, verbatim_doc_comment)]
struct Args {
    /// A short run: 5 passes per kernel, arrays of at most 64 MiB (under 4x a large cache, and
    /// then it says so), fewer latency points.
    #[arg(long)]
    quick: bool,
    /// Bytes per array (K/M/G binary suffixes); default 4x the last-level cache (never capped).
    #[arg(long)]
    size: Option<String>,
    /// Exactly this many workers (default: 1 and the effective CPU count).
    #[arg(long, conflicts_with = "thread_sweep")]
    threads: Option<u32>,
    /// Measure 1..N workers.
    #[arg(long)]
    thread_sweep: bool,
    /// Pin worker i to the i-th CPU of the affinity mask.
    #[arg(long)]
    pin: bool,
    /// Do not ask for transparent huge pages.
    #[arg(long)]
    no_huge_pages: bool,
    /// Skip the bandwidth kernels.
    #[arg(long)]
    no_bandwidth: bool,
    /// Skip the latency curve.
    #[arg(long)]
    no_latency: bool,
    /// Timed passes per kernel at least.
    #[arg(long)]
    passes: Option<u32>,
    /// Memory limit to honour on top of the cgroup's (K/M/G), to emulate a smaller task.
    #[arg(long)]
    memory_limit: Option<String>,
    /// Run id recorded in the report.
    #[arg(long)]
    run_id: Option<String>,
    /// Print the full report as pretty JSON instead of the table and result line.
    #[arg(long)]
    json: bool,
}

fn parse_bytes(text: &str, flag: &str) -> Result<u64> {
    probe_core::contract::quantity::parse_bytes(text).with_context(|| flag.to_owned())
}

fn config(args: Args) -> Result<(MemConfig, bool)> {
    let mut c = if args.quick {
        MemConfig::quick()
    } else {
        MemConfig::default()
    };
    c.array_bytes = args
        .size
        .as_deref()
        .map(|s| parse_bytes(s, "--size"))
        .transpose()?;
    c.threads = args.threads;
    if args.threads == Some(0) {
        bail!("--threads 0: run at least one worker");
    }
    c.thread_sweep = args.thread_sweep;
    c.pin = args.pin;
    c.huge_pages = !args.no_huge_pages;
    c.bandwidth = !args.no_bandwidth;
    c.latency = !args.no_latency;
    if !c.bandwidth && !c.latency {
        bail!("--no-bandwidth and --no-latency together leave nothing to measure");
    }
    if let Some(p) = args.passes {
        if !(1..=10_000).contains(&p) {
            bail!("--passes {p} must be 1..=10000");
        }
        c.passes.min_passes = p;
        c.passes.max_passes = c.passes.max_passes.max(p);
    }
    c.memory_limit_bytes = args
        .memory_limit
        .as_deref()
        .map(|s| parse_bytes(s, "--memory-limit"))
        .transpose()?;
    c.run_id = args.run_id;
    if args.quick {
        c.latency_min_time = Duration::from_millis(4);
    }
    Ok((c, args.json))
}

fn main() -> ExitCode {
    let (config, json) = match config(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("memprobe: {e:#}");
            return ExitCode::from(2);
        }
    };
    let report = match memprobe::run(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("memprobe: {e}");
            let setup = matches!(
                e,
                MemError::SizeTooLarge { .. } | MemError::Config(_) | MemError::Pin { .. }
            );
            return ExitCode::from(if setup { 2 } else { 1 });
        }
    };
    match print(&report, json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("memprobe: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print(report: &probe_core::Report, json: bool) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, report)?;
        writeln!(stdout)?;
    } else {
        eprint!("{}", memprobe::report::human_summary(report));
        writeln!(stdout, "{}", probe_core::result_line::encode(report)?)?;
    }
    Ok(())
}
