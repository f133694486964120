//! Flags, validated into a command before any work starts.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fargate_bench::command::{self, RunRequest};
use fargate_bench::export::{write_document, Format};
use fargate_bench::platform::ecs::settings::{EcsOverrides, EcsSettings};
use fargate_bench::platform::link::LinkSpec;
use fargate_bench::sizes::{all_sizes, Arch, Prices};
use fargate_bench::suite::{
    receive_wait_parser, ReceiveWait, SuiteOverrides, SuiteSource, TestKind, PRESETS,
};
use fargate_bench::summary::Merged;
use fargate_bench::{backend, runner, Backend, BackendConfig, BenchError, Suite};

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
///   fargate-bench sizes --region ap-northeast-2 --arch arm
#[derive(Debug, Parser)]
#[command(name = "fargate-bench", version, verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
}

#[derive(Debug, clap::Args)]
pub(crate) struct PresetsArgs {
    /// The preset to print.
    name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AnalyzeArgs {
    /// The iperf3 --json (-J) output.
    file: PathBuf,
    /// Print the analysis as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ArchArg {
    X86,
    Arm,
}

#[derive(Debug, clap::Args)]
struct PriceArgs {
    /// AWS region: where ECS tasks run and whose prices apply [default prices: us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// CPU architecture whose prices to use.
    #[arg(long, value_enum, default_value = "x86")]
    arch: ArchArg,
    /// A TOML price table replacing the built-in dated one.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct OutputArgs {
    /// Report format. `table` fits 120 columns (medians with ± half their range); `wide` adds
    /// every column, the ranges and the median's 95% intervals.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// The table with every column, ranges and intervals (same as --format wide).
    #[arg(long, conflicts_with = "format")]
    wide: bool,
    /// Write the report here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    output: String,
}

impl OutputArgs {
    fn format(&self) -> Format {
        if self.wide {
            Format::Wide
        } else {
            self.format
        }
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A TOML suite file (tests, sizes, repetitions, concurrency).
    #[arg(long, value_name = "FILE")]
    suite: Option<PathBuf>,
    /// A built-in suite: published-2021 (the 2021 blog method) or sizing (until the
    /// baseline holds); `fargate-bench presets NAME` prints one to copy and edit.
    #[arg(long, value_name = "NAME", conflicts_with = "suite")]
    preset: Option<String>,
    /// Task size VCPUxGB (repeatable), e.g. 0.25x0.5 or 1x2.
    #[arg(long = "size", value_name = "SIZE")]
    sizes: Vec<String>,
    /// Test kind (repeatable); replaces the suite's tests.
    #[arg(long = "test", value_parser = TestKind::value_parser())]
    tests: Vec<TestKind>,
    /// Seconds per network test (the cap of until-baseline tests).
    #[arg(long, allow_hyphen_values = true)]
    duration: Option<f64>,
    /// How tcp-stream and udp-stream receivers wait for data. `auto` (netprobe's default)
    /// polls where each data thread has a whole CPU, never on fractional-vCPU sizes; `block`
    /// makes receiver CPU time the true cost per byte.
    #[arg(long, value_parser = receive_wait_parser())]
    receive_wait: Option<ReceiveWait>,
    /// Repetitions of each test on each size (interleaved).
    #[arg(long, short = 'n')]
    repetitions: Option<u32>,
    /// Items run at once (default 1 locally, so runs do not disturb each other).
    #[arg(long)]
    concurrency: Option<u32>,
    /// CPU architecture, X86_64 or ARM64 (repeatable, or comma-separated): every size runs
    /// on each, priced as each, side by side in the report ("is Graviton worth it at this
    /// size"). Replaces the suite's `architectures`. ECS: a task definition family per
    /// architecture; docker: ARM64 images under qemu (functional only); local: this
    /// machine's only. [default: ECS `cpu_architecture`, else this machine's]
    #[arg(long = "architecture", value_name = "ARCH", value_delimiter = ',')]
    architectures: Vec<String>,
    /// Where tasks run.
    #[arg(long, value_enum, default_value = "local")]
    backend: Backend,
    /// Root directory for results.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Complete an interrupted run: only missing items run.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["suite", "preset", "sizes", "tests", "duration", "receive_wait", "repetitions", "architectures"])]
    resume: Option<PathBuf>,
    /// Directory holding netprobe and memprobe (searched after the controller's directory and PATH).
    #[arg(long, value_name = "DIR")]
    probe_dir: Option<PathBuf>,
    /// Run each server/client pair over an emulated link, shaped in the path (needs root):
    /// locally in a router namespace between them, on docker on the host side of each
    /// container's veth. RATE (200M, 1G) is a plain link; `fargate` gives each size Fargate's
    /// published burst, bucket and baseline.
    #[arg(long, value_name = "RATE|fargate")]
    link: Option<String>,
    /// With --link fargate: burst windows run this many times faster than on Fargate.
    #[arg(long, value_name = "X", default_value_t = fargate_bench::platform::link::DEFAULT_TIME_SCALE)]
    link_time_scale: f64,
    /// ECS: do not start when the estimated cost (printed before every ECS run and in
    /// --dry-run) exceeds this many USD.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    max_cost: Option<f64>,
    /// No progress bar, plain lines.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    images: ImageArgs,
    #[command(flatten)]
    ecs: EcsArgs,
    #[command(flatten)]
    prices: PriceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Probe images for the docker (and ECS) backends.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ImageArgs {
    /// netprobe image [docker default: netprobe:latest, built by scripts/build-images.sh;
    /// ecs: the ECR URI from the config file].
    #[arg(long)]
    netprobe_image: Option<String>,
    /// memprobe image [docker default: memprobe:latest].
    #[arg(long)]
    memprobe_image: Option<String>,
}

/// Where ECS tasks run; every flag overrides the config file that scripts/deploy.sh writes.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct EcsArgs {
    /// Config file written by scripts/deploy.sh (cluster, subnet, security group, role, log
    /// group, images).
    #[arg(long, value_name = "FILE", env = "FARGATE_BENCH_ECS_CONFIG")]
    ecs_config: Option<PathBuf>,
    /// ECS cluster.
    #[arg(long)]
    cluster: Option<String>,
    /// The one subnet all tasks run in (one AZ).
    #[arg(long)]
    subnet: Option<String>,
    /// Security group (repeatable).
    #[arg(long = "security-group")]
    security_groups: Vec<String>,
    /// Give tasks a public IP, so they pull images in a public subnet without a NAT gateway
    /// [default: the config file's, else true]; `--assign-public-ip false` turns it off.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    assign_public_ip: Option<bool>,
    /// Fargate platform version (LATEST, 1.4.0); FARGATE_SPOT needs 1.3.0+, ARM64 1.4.0+.
    #[arg(long, value_name = "VERSION")]
    platform_version: Option<String>,
    /// Seconds to keep retrying RunTask while Fargate has no capacity [default: 600].
    #[arg(long, value_name = "SECS")]
    capacity_wait: Option<u64>,
    /// Task execution role ARN.
    #[arg(long)]
    execution_role_arn: Option<String>,
    /// CloudWatch Logs group.
    #[arg(long)]
    log_group: Option<String>,
    /// X86_64 or ARM64.
    #[arg(long)]
    cpu_architecture: Option<String>,
    /// FARGATE or FARGATE_SPOT.
    #[arg(long)]
    capacity_provider: Option<String>,
    /// AWS profile.
    #[arg(long)]
    profile: Option<String>,
    /// AWS endpoint override (tests use moto on loopback).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Print the task definitions and RunTask requests instead of calling AWS.
    #[arg(long)]
    dry_run: bool,
}

impl EcsArgs {
    fn overrides(&self, images: &ImageArgs, region: Option<&str>) -> EcsOverrides {
        EcsOverrides {
            config_file: self.ecs_config.clone(),
            cluster: self.cluster.clone(),
            subnet: self.subnet.clone(),
            security_groups: self.security_groups.clone(),
            assign_public_ip: self.assign_public_ip,
            platform_version: self.platform_version.clone(),
            capacity_wait_secs: self.capacity_wait,
            execution_role_arn: self.execution_role_arn.clone(),
            log_group: self.log_group.clone(),
            cpu_architecture: self.cpu_architecture.clone(),
            capacity_provider: self.capacity_provider.clone(),
            netprobe_image: images.netprobe_image.clone(),
            memprobe_image: images.memprobe_image.clone(),
            region: region.map(str::to_owned),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// A results directory (results/<run-id>).
    dir: PathBuf,
    #[command(flatten)]
    prices: PriceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The baseline results directory.
    a: PathBuf,
    /// The results directory to compare with it.
    b: PathBuf,
    /// JSON instead of a table (same as --format json).
    #[arg(long)]
    json: bool,
    /// table, json, or html (one self-contained page: A and B overlaid, change, CI overlap).
    #[arg(long, value_enum, default_value = "table")]
    format: CompareFormat,
    /// Write the comparison here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    output: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompareFormat {
    Table,
    Json,
    Html,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CleanupArgs {
    /// Where to look.
    #[arg(long, value_enum, default_value = "local")]
    backend: Backend,
    /// Only this run's tasks (default: every fargate-bench task).
    #[arg(long)]
    run: Option<String>,
    /// Directory holding the probes (local backend).
    #[arg(long, value_name = "DIR")]
    probe_dir: Option<PathBuf>,
    /// AWS region (ecs backend).
    #[arg(long)]
    region: Option<String>,
    #[command(flatten)]
    ecs: EcsArgs,
}

fn parse_usd(text: &str) -> std::result::Result<f64, String> {
    match text.trim_start_matches('$').parse::<f64>() {
        Ok(v) if (0.0..=1e6).contains(&v) => Ok(v),
        _ => Err(format!(
            "{text:?} is not an amount of USD between 0 and 1000000 (for example 2.50)"
        )),
    }
}

fn prices(a: &PriceArgs) -> Result<Prices> {
    let arch = match a.arch {
        ArchArg::X86 => Arch::X86,
        ArchArg::Arm => Arch::Arm,
    };
    Ok(Prices::new(a.prices.as_deref(), a.region.as_deref(), arch)?)
}

/// A validated command.
pub(crate) enum Validated {
    Run {
        request: Box<RunRequest>,
        dry_run: bool,
        format: Format,
        output: String,
    },
    Report {
        dir: PathBuf,
        prices: Prices,
        format: Format,
        output: String,
    },
    Sizes(Prices),
    Compare(CompareArgs),
    Analyze(AnalyzeArgs),
    Presets(PresetsArgs),
    Cleanup {
        backend: Box<BackendConfig>,
        run: Option<String>,
    },
}

impl Args {
    pub(crate) fn validate(self) -> Result<Validated> {
        Ok(match self.command {
            Command::Run(a) => validate_run(*a)?,
            Command::Report(a) => Validated::Report {
                dir: a.dir,
                prices: prices(&a.prices)?,
                format: a.output.format(),
                output: a.output.output,
            },
            Command::Sizes(a) => {
                let p = prices(&a)?;
                p.require_known()?;
                Validated::Sizes(p)
            }
            Command::Compare(a) => Validated::Compare(a),
            Command::Analyze(a) => Validated::Analyze(a),
            Command::Presets(a) => Validated::Presets(a),
            Command::Cleanup(a) => {
                let a = *a;
                let ecs = match a.backend {
                    Backend::Ecs => Some(EcsSettings::resolve(
                        &a.ecs.overrides(&ImageArgs::default(), a.region.as_deref()),
                        None,
                        true,
                    )?),
                    _ => None,
                };
                Validated::Cleanup {
                    backend: Box::new(BackendConfig {
                        backend: a.backend,
                        probe_dir: a.probe_dir,
                        netprobe_image: None,
                        memprobe_image: None,
                        ecs,
                        link: None,
                    }),
                    run: a.run,
                }
            }
        })
    }
}

fn validate_run(a: RunArgs) -> Result<Validated> {
    let overrides = SuiteOverrides {
        sizes: a.sizes.clone(),
        tests: a.tests.clone(),
        duration: a.duration,
        receive_wait: a.receive_wait,
        repetitions: a.repetitions,
        concurrency: a.concurrency,
        architectures: a.architectures.clone(),
    };
    // On --resume every check below (sizes, architectures, --link, the estimate, --max-cost,
    // --dry-run) sees the stored suite: the one that will run.
    let source = match (&a.resume, &a.suite, &a.preset) {
        (Some(dir), _, _) => SuiteSource::Resumed(dir),
        (None, Some(file), _) => SuiteSource::File(file),
        (None, None, Some(name)) => SuiteSource::Preset(name),
        (None, None, None) => SuiteSource::Default {
            ecs: a.backend == Backend::Ecs,
        },
    };
    let (suite, sizes) = Suite::load(source, &overrides)?;
    if let Some(dir) = &a.resume {
        runner::check_resumable(dir, a.backend.name(), &suite)?;
    }
    if a.ecs.dry_run && a.backend != Backend::Ecs {
        bail!(
            "--dry-run prints the ECS task definitions and RunTask requests, so it needs \
             --backend ecs; the local and docker backends have nothing to preview"
        );
    }
    let ecs = match a.backend {
        Backend::Ecs => {
            let settings = EcsSettings::resolve(
                &a.ecs.overrides(&a.images, a.prices.region.as_deref()),
                suite.ecs.as_ref(),
                false,
            )?;
            settings.validate_arches(&suite.arches()?)?;
            Some(settings)
        }
        _ => None,
    };
    let link = a
        .link
        .as_deref()
        .map(|l| LinkSpec::parse(l, a.link_time_scale))
        .transpose()?;
    if let Some(link) = link {
        // Refuse a link that cannot be built for a size now, not when its item comes up.
        for size in &sizes {
            link.params(*size)?;
        }
    }
    // ECS runs are priced where and as they run: the effective region, architecture and
    // capacity provider, whichever of flags, config file and suite set them.
    let mut prices = prices(&a.prices)?;
    if let Some(settings) = &ecs {
        prices = settings.prices(prices);
    }
    let backend = BackendConfig {
        backend: a.backend,
        probe_dir: a.probe_dir,
        netprobe_image: a.images.netprobe_image,
        memprobe_image: a.images.memprobe_image,
        ecs,
        link,
    };
    Ok(Validated::Run {
        request: Box::new(RunRequest {
            plan: runner::RunPlan {
                suite,
                sizes,
                results_root: a.results,
                resume: a.resume,
                server_ready_timeout: backend.server_ready_timeout(),
                progress: !a.no_progress,
            },
            backend,
            prices,
            max_cost_usd: a.max_cost,
        }),
        dry_run: a.ecs.dry_run,
        format: a.output.format(),
        output: a.output.output,
    })
}

fn write_report(doc: &Merged, format: Format, output: &str) -> Result<()> {
    if output == "-" {
        let mut out = std::io::stdout().lock();
        write_document(format, doc, &mut out)?;
        out.flush()?;
    } else {
        let mut file =
            std::fs::File::create(output).with_context(|| format!("cannot create {output}"))?;
        write_document(format, doc, &mut file)?;
        eprintln!("report written to {output}");
    }
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) async fn execute(command: Validated) -> Result<()> {
    match command {
        Validated::Run {
            request,
            dry_run,
            format,
            output,
        } => {
            if dry_run {
                let settings = request.backend.ecs.as_ref().expect("validated for ecs");
                let region = settings.region.as_deref().unwrap_or(&request.prices.region);
                // The same check a real run makes: a dry run over the cap says so.
                command::check_cost(&request)?;
                return print_json(&fargate_bench::dry_run::document(
                    &request.plan,
                    settings,
                    region,
                    &request.prices,
                )?);
            }
            let report = command::run(*request, shutdown_signal()).await?;
            write_report(&report.merged, format, &output)?;
            report.all_ok()?;
            eprintln!("results: {}", report.dir.display());
            Ok(())
        }
        Validated::Report {
            dir,
            prices,
            format,
            output,
        } => {
            // Every format reads the one merged document, folded one record at a time.
            write_report(
                &command::summarize_dir(&dir, Some(&prices))?,
                format,
                &output,
            )
        }
        Validated::Sizes(prices) => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<10} {:>5} {:>8} {:>10}   ({} {:?}, prices as of {})",
                "size", "vCPU", "GB", "USD/hour", prices.region, prices.arch, prices.table.as_of
            )?;
            for s in all_sizes() {
                writeln!(
                    out,
                    "{:<10} {:>5} {:>8} {:>10.5}",
                    s.to_string(),
                    s.vcpu(),
                    s.memory_gb(),
                    prices.hourly(s).unwrap_or(f64::NAN)
                )?;
            }
            Ok(())
        }
        Validated::Compare(a) => {
            let (sa, sb) = (
                command::summarize_dir(&a.a, None)?.summary,
                command::summarize_dir(&a.b, None)?.summary,
            );
            let changes = fargate_bench::compare::compare(&sa, &sb);
            if changes.is_empty() {
                bail!("the two runs share no metric (different tests or sizes)");
            }
            let format = if a.json {
                CompareFormat::Json
            } else {
                a.format
            };
            let mut text = Vec::new();
            match format {
                CompareFormat::Json => {
                    serde_json::to_writer_pretty(&mut text, &changes)?;
                    text.push(b'\n');
                }
                CompareFormat::Table => fargate_bench::compare::write_table(&changes, &mut text)?,
                CompareFormat::Html => text.extend(
                    fargate_bench::export::html::render_compare(&sa, &sb, &changes).as_bytes(),
                ),
            }
            if a.output == "-" {
                std::io::stdout().lock().write_all(&text)?;
            } else {
                std::fs::write(&a.output, &text)
                    .with_context(|| format!("cannot write {}", a.output))?;
                eprintln!("comparison written to {}", a.output);
            }
            Ok(())
        }
        Validated::Presets(a) => {
            let mut out = std::io::stdout().lock();
            match a.name {
                None => {
                    for (name, what, _) in PRESETS {
                        writeln!(out, "{name:<16} {what}")?;
                    }
                }
                Some(name) => {
                    Suite::preset(&name)?; // an unknown name is an error naming the presets
                    let text = PRESETS
                        .iter()
                        .find(|(n, _, _)| *n == name)
                        .map_or("", |(_, _, text)| text);
                    out.write_all(text.as_bytes())?;
                }
            }
            Ok(())
        }
        Validated::Analyze(a) => {
            let found = fargate_bench::analyze::analyze_file(&a.file)?;
            if a.json {
                return print_json(&found);
            }
            let mut out = std::io::stdout().lock();
            for s in found {
                writeln!(
                    out,
                    "{} ({}, {} intervals): {}",
                    a.file.display(),
                    s.series,
                    s.intervals,
                    s.regime.describe()
                )?;
            }
            Ok(())
        }
        Validated::Cleanup { backend, run } => {
            let stopped = backend::cleanup(&backend, run.as_deref()).await?;
            if stopped.is_empty() {
                eprintln!("nothing left running");
            }
            for s in stopped {
                println!("removed {s}");
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(c.downcast_ref::<BenchError>(), Some(BenchError::Output(io)) if io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The library decides: 2 for usage and setup errors, 1 for measurement failures.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<BenchError>()
        .map_or(1, BenchError::exit_code)
}
