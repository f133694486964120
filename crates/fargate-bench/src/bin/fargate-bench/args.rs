//! The command line as clap types, nothing more: `validate.rs` turns them into a
//! [`crate::validate::Validated`] command before any work starts (ripgrep's low-level
//! arguments).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use fargate_bench::export::compare::FORMATS;
use fargate_bench::export::Format;
use fargate_bench::sizes::{Arch, Capacity};
use fargate_bench::suite::{ReceiveWait, TestKind};
use fargate_bench::Backend;

/// Measure network and memory performance of containers where they run: AWS ECS Fargate,
/// any Docker host, or this machine.
///
/// `fargate-bench run` with no flags runs a short default suite (tcp-stream, tcp-rr,
/// udp-stream, memory; about a minute) on this machine and prints the report. Results go to
/// results/<run-id>/ as they finish; `report` prints them again in other formats.
///
/// Examples:
///   fargate-bench run
///   fargate-bench run --size 0.25x0.5 --size 1x2 --test tcp-stream --duration 30 -n 5
///   fargate-bench run --suite suite.toml --format markdown -o report.md
///   fargate-bench run --resume results/20261124213000-ab12
///   fargate-bench report results/20261124213000-ab12 --format csv -o -
///   fargate-bench compare results/A results/B
///   fargate-bench compare results/A results/B --fail-if "tcp-stream.baseline<-5%"
///   fargate-bench recommend results/A --need "tcp-stream.baseline>=500Mbit/s"
///   fargate-bench history results/nightly-* --format html -o history.html
///   fargate-bench sizes --region ap-northeast-2 --arch arm
#[derive(Debug, Parser)]
#[command(name = "fargate-bench", version, verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a suite and print its report.
    Run(Box<RunArgs>),
    /// Print the report of a results directory.
    Report(ReportArgs),
    /// List valid Fargate sizes with hourly prices.
    Sizes(PriceArgs),
    /// Compare two results directories metric by metric.
    Compare(CompareArgs),
    /// Stop and list tasks a run left behind.
    Cleanup(Box<CleanupArgs>),
    /// List the built-in suites, or print one (TOML) to copy and edit.
    Presets(PresetsArgs),
    /// Read burst, burst length, bucket and baseline out of an iperf3 --json run.
    ///
    /// Fargate's network is a token bucket: a burst of several Gbit/s for minutes, then a
    /// baseline. iperf3 reports the mean of both; this reads its per-interval samples.
    /// Example: iperf3 -c HOST -t 1800 -J > run.json && fargate-bench analyze run.json
    #[command(verbatim_doc_comment)]
    Analyze(AnalyzeArgs),
    /// Replay a traffic profile against each measured size's token bucket: seconds throttled,
    /// bytes delayed, the largest backlog, when it is all delivered, the cost, and the
    /// cheapest size that never throttles it.
    ///
    /// PROFILE is a pattern (rates in bit/s: `2G for 20m every 1h`, `500M for 90s`,
    /// `1G for 10m every 1h over 3d`), a CSV file (a time column, then `bytes`,
    /// `bytes_per_sec` or `bits_per_sec`), or the JSON of `aws cloudwatch
    /// get-metric-statistics` / `get-metric-data` for the task's network bytes.
    /// RESULTS are run directories holding tcp-stream tests that read a bucket (the `sizing`
    /// preset does); a size whose bucket was not read is listed, never guessed.
    ///
    /// Examples:
    ///   fargate-bench simulate "2G for 20m every 1h" results/A results/B
    ///   fargate-bench simulate egress.csv results/A --format json -o sim.json
    ///   fargate-bench simulate egress.csv results/A --format html -o sim.html
    #[command(verbatim_doc_comment)]
    Simulate(SimulateArgs),
    /// Name the cheapest measured size (x architecture x capacity provider) whose figures
    /// meet every need, with the margin on each, the runners-up, and the needs no size meets
    /// or measured. Exits 1 when no size meets them all.
    ///
    /// A NEED is FIGURE>=VALUE or FIGURE<=VALUE (also > and <). FIGURE is TEST.FIGURE, TEST
    /// being a test kind or a test's label as the reports print it:
    ///   tcp-stream, udp-stream: baseline, burst, burst-duration, throughput
    ///   tcp-rr, udp-rr, tcp-crr: transactions, p50, p90, p99, p99.9
    ///   memory: copy, scale, add, triad, read, write, memcpy
    /// or the task's own `memory` (GB) and `vcpu`. A burst may have to last:
    /// `tcp-stream.burst>=2Gbit/s for 10m`. Units are required: bit/s for networks
    /// (Mbit/s, Gbit/s, or M, G), GB/s for memory, us or ms for round trips.
    ///
    /// Each figure is judged on the end of its 95% interval the need must clear (the lower
    /// end for >=, the upper end for <=), never its median; with 2 to 5 repetitions, on the
    /// lowest (highest) one; one repetition on its value, flagged. Every direction and test
    /// a name covers must meet it; a memory kernel offers its best thread count. A size that
    /// did not measure a figure is listed as not measured, never interpolated. Ties at one
    /// price go to the larger smallest margin, then the smaller size, X86_64, on demand.
    ///
    /// Examples:
    ///   fargate-bench recommend results/A --need "tcp-stream.baseline>=500Mbit/s"
    ///   fargate-bench recommend results/A results/B --need "tcp-rr.p99<=200us" \
    ///     --need "tcp-stream.burst>=2Gbit/s for 10m" --need "memory>=4GB" --arch ARM64
    #[command(verbatim_doc_comment)]
    Recommend(RecommendArgs),
    /// Lay out many runs of one suite over time: each headline figure per size with a column
    /// per run (oldest first), the runs where a figure moved past both runs' 95% intervals
    /// (a move inside them is noise), and where the CPU models or the Fargate platform
    /// version under a size changed, the usual suspects of a drift.
    ///
    /// Every RESULTS directory must be a run of the same suite (the same tests with the same
    /// options); sizes may come and go, leaving gaps. To fail a scheduled run on a
    /// regression, use `compare LAST NEW --fail-if ...`.
    ///
    /// Examples:
    ///   fargate-bench history results/*
    ///   fargate-bench history results/nightly-* --format html -o history.html
    #[command(verbatim_doc_comment)]
    History(HistoryArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// Results directories (results/<run-id>) of one suite, two or more, in any order.
    #[arg(required = true, num_args = 2..)]
    pub(crate) results: Vec<PathBuf>,
    /// table, json, or html (a chart per figure, a line per size).
    #[arg(long, value_parser = history_format(), default_value = "table")]
    pub(crate) format: Format,
    /// Write it here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    pub(crate) output: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RecommendArgs {
    /// Results directories (results/<run-id>), one or more.
    #[arg(required = true)]
    pub(crate) results: Vec<PathBuf>,
    /// What the service needs (repeatable, or comma-separated), such as
    /// tcp-stream.baseline>=500Mbit/s.
    #[arg(
        long = "need",
        value_name = "NEED",
        required = true,
        value_delimiter = ','
    )]
    pub(crate) needs: Vec<String>,
    /// Only these architectures (repeatable, or comma-separated): X86_64, ARM64.
    #[arg(long = "arch", value_name = "ARCH", value_delimiter = ',', value_parser = Arch::parse)]
    pub(crate) arches: Vec<Arch>,
    /// Only these capacity providers (repeatable, or comma-separated): FARGATE (on demand)
    /// or FARGATE_SPOT.
    #[arg(long = "capacity", value_name = "PROVIDER", value_delimiter = ',', value_parser = parse_capacity)]
    pub(crate) capacities: Vec<Capacity>,
    /// AWS region whose prices apply [default: us-east-1].
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// A TOML price table replacing the built-in dated one.
    #[arg(long, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
    /// table, wide (the medians and the deciding rows too), json or html.
    #[arg(long, value_parser = recommend_format(), default_value = "table")]
    pub(crate) format: Format,
    /// Write it here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    pub(crate) output: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// The traffic: a pattern, a CSV file or a CloudWatch JSON export.
    pub(crate) profile: String,
    /// Results directories (results/<run-id>), one or more.
    #[arg(required = true)]
    pub(crate) results: Vec<PathBuf>,
    /// Whose bucket the traffic meets: the task's sending (`client-to-server` in a
    /// tcp-stream test) or its receiving.
    #[arg(long, value_enum, default_value = "client-to-server")]
    pub(crate) direction: DirectionArg,
    #[command(flatten)]
    pub(crate) prices: PriceArgs,
    /// table, wide (every column), json, or html (a page drawing each size's offered and
    /// delivered traffic and its bucket's level over time).
    #[arg(long, value_parser = simulate_format(), default_value = "table")]
    pub(crate) format: Format,
    /// Write it here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    pub(crate) output: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DirectionArg {
    ClientToServer,
    ServerToClient,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PresetsArgs {
    /// The preset to print.
    pub(crate) name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AnalyzeArgs {
    /// The iperf3 --json (-J) output.
    pub(crate) file: PathBuf,
    /// Print the analysis as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ArchArg {
    X86,
    Arm,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PriceArgs {
    /// AWS region: where ECS tasks run and whose prices apply [default prices: us-east-1].
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// CPU architecture whose prices to use.
    #[arg(long, value_enum, default_value = "x86")]
    pub(crate) arch: ArchArg,
    /// A TOML price table replacing the built-in dated one.
    #[arg(long, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct OutputArgs {
    /// Report format. `table` fits 120 columns (medians with ± half their range); `wide` adds
    /// every column, the ranges and the median's 95% intervals.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
    /// The table with every column, ranges and intervals (same as --format wide).
    #[arg(long, conflicts_with = "format")]
    pub(crate) wide: bool,
    /// Write the report here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    pub(crate) output: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// A TOML suite file (tests, sizes, repetitions, concurrency).
    #[arg(long, value_name = "FILE")]
    pub(crate) suite: Option<PathBuf>,
    /// A built-in suite: published-2021 (the 2021 blog method), sizing (until the
    /// baseline holds) or sizing-refill (sizing, then how fast each bucket refills);
    /// `fargate-bench presets NAME` prints one to copy and edit.
    #[arg(long, value_name = "NAME", conflicts_with = "suite")]
    pub(crate) preset: Option<String>,
    /// Task size VCPUxGB (repeatable), e.g. 0.25x0.5 or 1x2.
    #[arg(long = "size", value_name = "SIZE")]
    pub(crate) sizes: Vec<String>,
    /// Test kind (repeatable); replaces the suite's tests.
    #[arg(long = "test", value_parser = test_kind())]
    pub(crate) tests: Vec<TestKind>,
    /// Seconds per network test (the cap of until-baseline tests).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) duration: Option<f64>,
    /// How tcp-stream and udp-stream receivers wait for data. `auto` (netprobe's default)
    /// polls where each data thread has a whole CPU, never on fractional-vCPU sizes; `block`
    /// makes receiver CPU time the true cost per byte.
    #[arg(long, value_parser = receive_wait_parser())]
    pub(crate) receive_wait: Option<ReceiveWait>,
    /// Repetitions of each test on each size (interleaved).
    #[arg(long, short = 'n')]
    pub(crate) repetitions: Option<u32>,
    /// Items run at once (default 1 locally, so runs do not disturb each other).
    #[arg(long)]
    pub(crate) concurrency: Option<u32>,
    /// CPU architecture, X86_64 or ARM64 (repeatable, or comma-separated): every size runs
    /// on each, priced as each, side by side in the report ("is Graviton worth it at this
    /// size"). Replaces the suite's `architectures`. ECS: a task definition family per
    /// architecture; docker: ARM64 images under qemu (functional only); local: this
    /// machine's only. [default: ECS `cpu_architecture`, else this machine's]
    #[arg(long = "architecture", value_name = "ARCH", value_delimiter = ',')]
    pub(crate) architectures: Vec<String>,
    /// Where tasks run.
    #[arg(long, value_enum, default_value = "local")]
    pub(crate) backend: Backend,
    /// Root directory for results.
    #[arg(long, default_value = "results")]
    pub(crate) results: PathBuf,
    /// Complete an interrupted run: only missing items run.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["suite", "preset", "sizes", "tests", "duration", "receive_wait", "repetitions", "architectures"])]
    pub(crate) resume: Option<PathBuf>,
    /// Directory holding netprobe and memprobe (searched after the controller's directory and PATH).
    #[arg(long, value_name = "DIR")]
    pub(crate) probe_dir: Option<PathBuf>,
    /// Run each server/client pair over an emulated link, shaped in the path (needs root):
    /// locally in a router namespace between them, on docker on the host side of each
    /// container's veth. RATE (200M, 1G) is a plain link; `fargate` gives each size Fargate's
    /// published burst, bucket and baseline.
    #[arg(long, value_name = "RATE|fargate")]
    pub(crate) link: Option<String>,
    /// With --link fargate: burst windows run this many times faster than on Fargate.
    #[arg(long, value_name = "X", default_value_t = fargate_bench::platform::link::DEFAULT_TIME_SCALE)]
    pub(crate) link_time_scale: f64,
    /// ECS: do not start when the estimated cost (printed before every ECS run and in
    /// --dry-run) exceeds this many USD.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub(crate) max_cost: Option<f64>,
    /// No progress bar, plain lines.
    #[arg(long)]
    pub(crate) no_progress: bool,
    #[command(flatten)]
    pub(crate) images: ImageArgs,
    #[command(flatten)]
    pub(crate) ecs: EcsArgs,
    #[command(flatten)]
    pub(crate) prices: PriceArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// Probe images for the docker (and ECS) backends.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ImageArgs {
    /// netprobe image [docker default: netprobe:latest, built by scripts/build-images.sh;
    /// ecs: the ECR URI from the config file].
    #[arg(long)]
    pub(crate) netprobe_image: Option<String>,
    /// memprobe image [docker default: memprobe:latest].
    #[arg(long)]
    pub(crate) memprobe_image: Option<String>,
}

/// Where ECS tasks run; every flag overrides the config file that scripts/deploy.sh writes.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct EcsArgs {
    /// Config file written by scripts/deploy.sh (cluster, subnet, security group, role, log
    /// group, images).
    #[arg(long, value_name = "FILE", env = "FARGATE_BENCH_ECS_CONFIG")]
    pub(crate) ecs_config: Option<PathBuf>,
    /// ECS cluster.
    #[arg(long)]
    pub(crate) cluster: Option<String>,
    /// The one subnet all tasks run in (one AZ).
    #[arg(long)]
    pub(crate) subnet: Option<String>,
    /// Security group (repeatable).
    #[arg(long = "security-group")]
    pub(crate) security_groups: Vec<String>,
    /// Give tasks a public IP, so they pull images in a public subnet without a NAT gateway
    /// [default: the config file's, else true]; `--assign-public-ip false` turns it off.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) assign_public_ip: Option<bool>,
    /// Fargate platform version: LATEST or 1.4.0 (1.0.0-1.3.0 are retired).
    #[arg(long, value_name = "VERSION")]
    pub(crate) platform_version: Option<String>,
    /// Seconds to keep retrying RunTask while Fargate has no capacity [default: 600].
    #[arg(long, value_name = "SECS")]
    pub(crate) capacity_wait: Option<u64>,
    /// Task execution role ARN.
    #[arg(long)]
    pub(crate) execution_role_arn: Option<String>,
    /// CloudWatch Logs group.
    #[arg(long)]
    pub(crate) log_group: Option<String>,
    /// X86_64 or ARM64.
    #[arg(long)]
    pub(crate) cpu_architecture: Option<String>,
    /// FARGATE or FARGATE_SPOT.
    #[arg(long)]
    pub(crate) capacity_provider: Option<String>,
    /// AWS profile.
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// AWS endpoint override (tests use moto on loopback).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub(crate) endpoint_url: Option<String>,
    /// Print the task definitions and RunTask requests instead of calling AWS.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// A results directory (results/<run-id>).
    pub(crate) dir: PathBuf,
    #[command(flatten)]
    pub(crate) prices: PriceArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The baseline results directory.
    pub(crate) a: PathBuf,
    /// The results directory to compare with it.
    pub(crate) b: PathBuf,
    /// table, json, or html (one self-contained page: A and B overlaid, change, CI overlap).
    #[arg(long, value_parser = compare_format(), default_value = "table")]
    pub(crate) format: Format,
    /// Exit 1 when a figure moved past a threshold, naming the rows that did (repeatable, or
    /// comma-separated): FIGURE<-PERCENT% fails on a fall, FIGURE>+PERCENT% on a rise, such
    /// as "tcp-stream.baseline<-5%,tcp-rr.p99>+10%". A row crosses only when the whole
    /// interval of its change lies past the threshold (noise never fails); FIGURE is named
    /// as for `recommend --need`.
    #[arg(long = "fail-if", value_name = "RULES", value_delimiter = ',')]
    pub(crate) fail_if: Vec<String>,
    /// Write the comparison here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    pub(crate) output: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CleanupArgs {
    /// Where to look.
    #[arg(long, value_enum, default_value = "local")]
    pub(crate) backend: Backend,
    /// Only this run's tasks (default: every fargate-bench task).
    #[arg(long)]
    pub(crate) run: Option<String>,
    /// Directory holding the probes (local backend).
    #[arg(long, value_name = "DIR")]
    pub(crate) probe_dir: Option<PathBuf>,
    /// AWS region (ecs backend).
    #[arg(long)]
    pub(crate) region: Option<String>,
    #[command(flatten)]
    pub(crate) ecs: EcsArgs,
}

/// A parser of the test kinds' names, listing them in `--help`.
fn test_kind() -> impl clap::builder::TypedValueParser<Value = TestKind> {
    use clap::builder::TypedValueParser as _;
    let names: Vec<&'static str> = TestKind::all().map(TestKind::name).collect();
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| name.parse::<TestKind>().expect("a listed name"))
}

/// A parser of [`ReceiveWait`] names, listing them in `--help`.
fn receive_wait_parser() -> impl clap::builder::TypedValueParser<Value = ReceiveWait> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(ReceiveWait::ALL.map(ReceiveWait::name))
        .map(|name| name.parse::<ReceiveWait>().expect("a listed name"))
}

/// The formats `compare` writes ([`fargate_bench::export::compare::FORMATS`]), so `--help`
/// lists them and another is a usage error.
fn compare_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    let names = FORMATS.map(|f| f.to_possible_value().expect("no format is skipped"));
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| Format::from_str(&name, false).expect("a listed name"))
}

/// The formats `history` writes.
fn history_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    let names = fargate_bench::export::history::FORMATS
        .map(|f| f.to_possible_value().expect("no format is skipped"));
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| Format::from_str(&name, false).expect("a listed name"))
}

/// The formats `simulate` writes.
fn simulate_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    let names = fargate_bench::export::simulate::FORMATS
        .map(|f| f.to_possible_value().expect("no format is skipped"));
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| Format::from_str(&name, false).expect("a listed name"))
}

/// The formats `recommend` writes.
fn recommend_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    let names = fargate_bench::export::recommend::FORMATS
        .map(|f| f.to_possible_value().expect("no format is skipped"));
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| Format::from_str(&name, false).expect("a listed name"))
}

/// A capacity provider by its ECS name, or as people say it (`on-demand`, `spot`).
fn parse_capacity(text: &str) -> std::result::Result<Capacity, String> {
    match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "fargate" | "on_demand" | "ondemand" => Ok(Capacity::OnDemand),
        "fargate_spot" | "spot" => Ok(Capacity::Spot),
        _ => Err(format!(
            "capacity provider {text:?} is not a Fargate one: use FARGATE (on demand) or \
             FARGATE_SPOT"
        )),
    }
}

fn parse_usd(text: &str) -> std::result::Result<f64, String> {
    match text.trim_start_matches('$').parse::<f64>() {
        Ok(v) if (0.0..=1e6).contains(&v) => Ok(v),
        _ => Err(format!(
            "{text:?} is not an amount of USD between 0 and 1000000 (for example 2.50)"
        )),
    }
}
