//! Flags, validated into a command before any work starts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fargate_bench::export::{exporter, Format};
use fargate_bench::merge::{self, Summary};
use fargate_bench::platform::docker::DockerPlatform;
use fargate_bench::platform::ecs::settings::EcsSettings;
use fargate_bench::platform::ecs::EcsPlatform;
use fargate_bench::platform::local::LocalPlatform;
use fargate_bench::platform::Platform;
use fargate_bench::sizes::{all_sizes, Arch, PriceTable};
use fargate_bench::suite::{ReceiveWait, TestKind, TestSpec};
use fargate_bench::{runner, store, BenchError, Suite};

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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Backend {
    /// Child processes on this machine (no cloud, no Docker).
    Local,
    /// Containers on this machine's Docker engine.
    Docker,
    /// AWS ECS Fargate.
    Ecs,
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
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report here (`-` = stdout).
    #[arg(long, short, default_value = "-")]
    output: String,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A TOML suite file (tests, sizes, repetitions, concurrency).
    #[arg(long, value_name = "FILE")]
    suite: Option<PathBuf>,
    /// Task size VCPUxGB (repeatable), e.g. 0.25x0.5 or 1x2.
    #[arg(long = "size", value_name = "SIZE")]
    sizes: Vec<String>,
    /// Test kind (repeatable); replaces the suite's tests.
    #[arg(long = "test", value_enum)]
    tests: Vec<TestKind>,
    /// Seconds per network test.
    #[arg(long)]
    duration: Option<f64>,
    /// How tcp-stream and udp-stream receivers wait for data. `auto` (netprobe's default)
    /// polls where each data thread has a whole CPU, never on fractional-vCPU sizes; `block`
    /// makes receiver CPU time the true cost per byte.
    #[arg(long, value_enum)]
    receive_wait: Option<ReceiveWait>,
    /// Repetitions of each test on each size (interleaved).
    #[arg(long, short = 'n')]
    repetitions: Option<u32>,
    /// Items run at once (default 1 locally, so runs do not disturb each other).
    #[arg(long)]
    concurrency: Option<u32>,
    /// Where tasks run.
    #[arg(long, value_enum, default_value = "local")]
    backend: Backend,
    /// Root directory for results.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Complete an interrupted run: only missing items run.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["suite", "sizes", "tests", "duration", "receive_wait", "repetitions"])]
    resume: Option<PathBuf>,
    /// Directory holding netprobe and memprobe (searched after the controller's directory and PATH).
    #[arg(long, value_name = "DIR")]
    probe_dir: Option<PathBuf>,
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
#[derive(Debug, Clone, clap::Args)]
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
    /// Give tasks a public IP (to pull images without a NAT gateway).
    #[arg(long)]
    assign_public_ip: bool,
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
    /// Settings from, in rising precedence: the suite's `[ecs]` table, the config file, flags.
    fn settings(
        &self,
        images: &ImageArgs,
        region: Option<&str>,
        from_suite: Option<&EcsSettings>,
    ) -> Result<EcsSettings> {
        let mut s = match (&self.ecs_config, from_suite) {
            (Some(p), _) => EcsSettings::from_file(p)?,
            (None, Some(suite)) => suite.clone(),
            (None, None) => EcsSettings {
                cpu_architecture: "X86_64".into(),
                capacity_provider: "FARGATE".into(),
                ..Default::default()
            },
        };
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                field.clone_from(v);
            }
        };
        set(&mut s.cluster, &self.cluster);
        set(&mut s.subnet, &self.subnet);
        set(&mut s.execution_role_arn, &self.execution_role_arn);
        set(&mut s.log_group, &self.log_group);
        set(&mut s.cpu_architecture, &self.cpu_architecture);
        set(&mut s.capacity_provider, &self.capacity_provider);
        set(&mut s.netprobe_image, &images.netprobe_image);
        set(&mut s.memprobe_image, &images.memprobe_image);
        if !self.security_groups.is_empty() {
            s.security_groups.clone_from(&self.security_groups);
        }
        s.assign_public_ip |= self.assign_public_ip;
        if let Some(r) = region {
            s.region = Some(r.to_owned());
        }
        if self.profile.is_some() {
            s.profile.clone_from(&self.profile);
        }
        if self.endpoint_url.is_some() {
            s.endpoint_url.clone_from(&self.endpoint_url);
        }
        s.validate()?;
        Ok(s)
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
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
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

async fn docker_platform(images: &ImageArgs) -> Result<DockerPlatform> {
    let netprobe = images
        .netprobe_image
        .as_deref()
        .unwrap_or("netprobe:latest");
    let memprobe = images
        .memprobe_image
        .as_deref()
        .unwrap_or("memprobe:latest");
    Ok(DockerPlatform::new(netprobe, memprobe).await?)
}

/// `--dry-run`: the task definitions and RunTask requests of the plan, as JSON, no AWS call.
fn dry_run(plan: &runner::RunPlan, settings: &EcsSettings, region: &str) -> Result<()> {
    let mut definitions = std::collections::BTreeMap::new();
    let mut runs = Vec::new();
    for (spec, _) in runner::preview_specs(plan) {
        let (def, run) = EcsPlatform::preview(settings, region, &spec);
        definitions.insert(def.family.clone(), def);
        runs.push(run);
    }
    let doc = serde_json::json!({
        "register_task_definition": definitions.values().collect::<Vec<_>>(),
        "run_task": runs,
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    Ok(())
}

/// Prices to apply.
pub(crate) struct Pricing {
    table: PriceTable,
    region: String,
    arch: Arch,
}

impl Pricing {
    fn from_args(a: &PriceArgs) -> Result<Pricing> {
        let table = match &a.prices {
            Some(p) => PriceTable::from_toml(p)?,
            None => PriceTable::default(),
        };
        let arch = match a.arch {
            ArchArg::X86 => Arch::X86,
            ArchArg::Arm => Arch::Arm,
        };
        let region = a.region.clone().unwrap_or_else(|| "us-east-1".to_owned());
        // Fail now, not after an hour of measuring.
        table.hourly(&region, arch, all_sizes()[0])?;
        Ok(Pricing {
            table,
            region,
            arch,
        })
    }
}

/// A validated command.
pub(crate) enum Validated {
    Run {
        plan: Box<runner::RunPlan>,
        backend: Backend,
        probe_dir: Option<PathBuf>,
        images: ImageArgs,
        ecs: Box<Option<EcsSettings>>,
        dry_run: bool,
        pricing: Pricing,
        format: Format,
        output: String,
    },
    Report {
        dir: PathBuf,
        pricing: Pricing,
        format: Format,
        output: String,
    },
    Sizes(Pricing),
    Compare(CompareArgs),
    Cleanup(Box<CleanupArgs>),
}

impl Args {
    pub(crate) fn validate(self) -> Result<Validated> {
        Ok(match self.command {
            Command::Run(a) => validate_run(*a)?,
            Command::Report(a) => Validated::Report {
                dir: a.dir,
                pricing: Pricing::from_args(&a.prices)?,
                format: a.output.format,
                output: a.output.output,
            },
            Command::Sizes(a) => Validated::Sizes(Pricing::from_args(&a)?),
            Command::Compare(a) => Validated::Compare(a),
            Command::Cleanup(a) => Validated::Cleanup(a),
        })
    }
}

fn validate_run(a: RunArgs) -> Result<Validated> {
    let mut suite = match &a.suite {
        Some(path) => Suite::from_file(path)?,
        None => Suite::default_suite(),
    };
    if !a.sizes.is_empty() {
        suite.sizes = a.sizes.clone();
    }
    if !a.tests.is_empty() {
        suite.tests = a
            .tests
            .iter()
            .map(|&kind| {
                let mut t = TestSpec::new(kind);
                if kind == TestKind::Memory {
                    t.quick = Some(true);
                } else if kind == TestKind::UdpStream {
                    t.rate = Some("1G".into());
                }
                t
            })
            .collect();
    }
    if let Some(w) = a.receive_wait {
        for t in suite
            .tests
            .iter_mut()
            .filter(|t| matches!(t.kind, TestKind::TcpStream | TestKind::UdpStream))
        {
            t.receive_wait = Some(w);
        }
    }
    if let Some(d) = a.duration {
        for t in suite.tests.iter_mut().filter(|t| t.kind.is_network()) {
            t.duration = Some(d);
        }
    }
    if let Some(n) = a.repetitions {
        suite.repetitions = n;
    }
    if let Some(c) = a.concurrency {
        suite.concurrency = c;
    }
    let sizes = suite.validate()?;
    if let Some(dir) = &a.resume {
        store::load(dir)?; // a clear error now if it is not a results directory
    }
    if a.ecs.dry_run && !matches!(a.backend, Backend::Ecs) {
        bail!(
            "--dry-run prints the ECS task definitions and RunTask requests, so it needs \
             --backend ecs; the local and docker backends have nothing to preview"
        );
    }
    let ecs = match a.backend {
        Backend::Ecs => Some(a.ecs.settings(
            &a.images,
            a.prices.region.as_deref(),
            suite.ecs.as_ref(),
        )?),
        _ => None,
    };
    let ready = if ecs.is_some() { 300 } else { 30 };
    Ok(Validated::Run {
        plan: Box::new(runner::RunPlan {
            suite,
            sizes,
            results_root: a.results,
            resume: a.resume,
            server_ready_timeout: Duration::from_secs(ready),
            progress: !a.no_progress,
        }),
        backend: a.backend,
        probe_dir: a.probe_dir,
        images: a.images,
        ecs: Box::new(ecs),
        dry_run: a.ecs.dry_run,
        pricing: Pricing::from_args(&a.prices)?,
        format: a.output.format,
        output: a.output.output,
    })
}

fn write_report(summary: &Summary, format: Format, output: &str) -> Result<()> {
    let exporter = exporter(format);
    if output == "-" {
        let mut out = std::io::stdout().lock();
        exporter.write(summary, &mut out)?;
        out.flush()?;
    } else {
        let mut file =
            std::fs::File::create(output).with_context(|| format!("cannot create {output}"))?;
        exporter.write(summary, &mut file)?;
        eprintln!("report written to {output}");
    }
    Ok(())
}

fn summarize(dir: &Path, pricing: &Pricing) -> Result<Summary> {
    let (meta, records) = store::load(dir)?;
    Ok(merge::summarize(
        &meta,
        &records,
        Some((&pricing.table, &pricing.region, pricing.arch)),
    ))
}

async fn run_on<P: Platform>(
    platform: P,
    plan: runner::RunPlan,
    pricing: &Pricing,
    format: Format,
    output: &str,
) -> Result<()> {
    let outcome = runner::run(Arc::new(platform), plan, shutdown_signal()).await?;
    let summary = merge::summarize(
        &outcome.meta,
        &outcome.records,
        Some((&pricing.table, &pricing.region, pricing.arch)),
    );
    write_report(&summary, format, output)?;
    if !summary.failures.is_empty() {
        return Err(BenchError::ItemsFailed {
            failed: summary.failures.len(),
            total: summary.failures.len() + summary.items_ok as usize,
            dir: outcome.dir,
        }
        .into());
    }
    eprintln!("results: {}", outcome.dir.display());
    Ok(())
}

pub(crate) async fn execute(command: Validated) -> Result<()> {
    match command {
        Validated::Run {
            plan,
            backend,
            probe_dir,
            images,
            ecs,
            dry_run: dry,
            pricing,
            format,
            output,
        } => match backend {
            Backend::Local => {
                let platform = LocalPlatform::new(probe_dir.as_deref())?;
                run_on(platform, *plan, &pricing, format, &output).await
            }
            Backend::Docker => {
                let platform = docker_platform(&images).await?;
                run_on(platform, *plan, &pricing, format, &output).await
            }
            Backend::Ecs => {
                let settings = ecs.expect("validated for ecs");
                if dry {
                    return dry_run(
                        &plan,
                        &settings,
                        settings.region.as_deref().unwrap_or(&pricing.region),
                    );
                }
                let platform = EcsPlatform::new(settings).await?;
                run_on(platform, *plan, &pricing, format, &output).await
            }
        },
        Validated::Report {
            dir,
            pricing,
            format,
            output,
        } => write_report(&summarize(&dir, &pricing)?, format, &output),
        Validated::Sizes(pricing) => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<10} {:>5} {:>8} {:>10}   ({} {:?}, prices as of {})",
                "size", "vCPU", "GB", "USD/hour", pricing.region, pricing.arch, pricing.table.as_of
            )?;
            for s in all_sizes() {
                let price = pricing.table.hourly(&pricing.region, pricing.arch, s)?;
                writeln!(
                    out,
                    "{:<10} {:>5} {:>8} {:>10.5}",
                    s.to_string(),
                    s.vcpu(),
                    s.memory_gb(),
                    price
                )?;
            }
            Ok(())
        }
        Validated::Compare(a) => {
            let pricing = Pricing::from_args(&PriceArgs {
                region: None,
                arch: ArchArg::X86,
                prices: None,
            })?;
            let changes = fargate_bench::compare::compare(
                &summarize(&a.a, &pricing)?,
                &summarize(&a.b, &pricing)?,
            );
            if changes.is_empty() {
                bail!("the two runs share no metric (different tests or sizes)");
            }
            let mut out = std::io::stdout().lock();
            if a.json {
                serde_json::to_writer_pretty(&mut out, &changes)?;
                writeln!(out)?;
            } else {
                fargate_bench::compare::write_table(&changes, &mut out)?;
            }
            Ok(())
        }
        Validated::Cleanup(a) => {
            let stopped = match a.backend {
                Backend::Local => {
                    let platform = LocalPlatform::new(a.probe_dir.as_deref())?;
                    platform.stop_run(a.run.as_deref()).await?
                }
                Backend::Docker => {
                    let platform = docker_platform(&ImageArgs {
                        netprobe_image: None,
                        memprobe_image: None,
                    })
                    .await;
                    // Cleanup must work even when the images are gone.
                    match platform {
                        Ok(p) => p.stop_run(a.run.as_deref()).await?,
                        Err(_) => DockerPlatform::stop_run_without_images(a.run.as_deref()).await?,
                    }
                }
                Backend::Ecs => {
                    let settings = a.ecs.settings(
                        &ImageArgs {
                            netprobe_image: Some("unused".into()),
                            memprobe_image: Some("unused".into()),
                        },
                        a.region.as_deref(),
                        None,
                    )?;
                    EcsPlatform::new(settings)
                        .await?
                        .stop_run(a.run.as_deref())
                        .await?
                }
            };
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

/// 2 for usage and setup errors, 1 for measurement failures and interruptions.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<BenchError>() {
        Some(
            BenchError::InvalidSize { .. }
            | BenchError::Suite { .. }
            | BenchError::Prices { .. }
            | BenchError::UnknownRegion { .. }
            | BenchError::ProbeNotFound { .. }
            | BenchError::NotAResultsDir { .. },
        ) => 2,
        _ => 1,
    }
}
