//! Flags validated into a command (ripgrep's high-level arguments): the suite loaded and
//! checked, prices and ECS settings resolved, output targets chosen, all before any work
//! starts. An error here is a usage or setup error (exit 2).

use std::path::PathBuf;

use anyhow::{bail, Result};
use fargate_bench::command::RunRequest;
use fargate_bench::compare::gate::Rule;
use fargate_bench::export::{Format, Output};
use fargate_bench::platform::ecs::settings::{EcsOverrides, EcsSettings};
use fargate_bench::platform::link::LinkSpec;
use fargate_bench::recommend::{Limits, Need};
use fargate_bench::sizes::{Arch, Prices};
use fargate_bench::suite::{SuiteOverrides, SuiteSource};
use fargate_bench::{runner, Backend, BackendConfig, Suite};

use crate::args::{
    ArchArg, Args, CleanupArgs, Command, DirectionArg, EcsArgs, ImageArgs, OutputArgs, PriceArgs,
    RunArgs,
};

/// A validated command.
pub(crate) enum Validated {
    Run {
        request: Box<RunRequest>,
        dry_run: bool,
        format: Format,
        output: Output,
    },
    Report {
        dir: PathBuf,
        prices: Prices,
        /// `--region` was given: it overrides the Region the run recorded.
        region_given: bool,
        format: Format,
        output: Output,
    },
    Sizes(Prices),
    Compare {
        a: PathBuf,
        b: PathBuf,
        format: Format,
        output: Output,
        fail_if: Vec<Rule>,
    },
    Recommend {
        results: Vec<PathBuf>,
        needs: Vec<Need>,
        limits: Limits,
        prices: Prices,
        format: Format,
        output: Output,
    },
    Analyze {
        file: PathBuf,
        json: bool,
    },
    Simulate {
        profile: Box<fargate_bench::simulate::Profile>,
        results: Vec<PathBuf>,
        direction: probe_core::report::Direction,
        prices: Prices,
        format: Format,
        output: Output,
    },
    History {
        results: Vec<PathBuf>,
        format: Format,
        output: Output,
    },
    /// Every preset, or the one named (known to exist).
    Presets(Option<String>),
    Cleanup {
        backend: Box<BackendConfig>,
        run: Option<String>,
    },
}

/// Turns parsed flags into a command.
pub(crate) fn validate(args: Args) -> Result<Validated> {
    Ok(match args.command {
        Command::Run(a) => validate_run(*a)?,
        Command::Report(a) => Validated::Report {
            dir: a.dir,
            prices: prices(&a.prices)?,
            region_given: a.prices.region.is_some(),
            format: format(&a.output),
            output: Output::from_arg(&a.output.output),
        },
        Command::Sizes(a) => {
            let p = prices(&a)?;
            p.require_known()?;
            Validated::Sizes(p)
        }
        Command::Compare(a) => Validated::Compare {
            fail_if: a
                .fail_if
                .iter()
                .map(|r| Rule::parse(r))
                .collect::<fargate_bench::Result<_>>()?,
            a: a.a,
            b: a.b,
            format: a.format,
            output: Output::from_arg(&a.output),
        },
        Command::Recommend(a) => Validated::Recommend {
            needs: Need::parse_all(&a.needs)?,
            limits: Limits {
                arches: a.arches,
                capacities: a.capacities,
            },
            prices: Prices::new(a.prices.as_deref(), a.region.as_deref(), Arch::X86)?,
            results: a.results,
            format: a.format,
            output: Output::from_arg(&a.output),
        },
        Command::History(a) => Validated::History {
            results: a.results,
            format: a.format,
            output: Output::from_arg(&a.output),
        },
        Command::Analyze(a) => Validated::Analyze {
            file: a.file,
            json: a.json,
        },
        Command::Presets(a) => {
            if let Some(name) = &a.name {
                Suite::preset(name)?; // an unknown name is an error naming the presets
            }
            Validated::Presets(a.name)
        }
        Command::Cleanup(a) => validate_cleanup(*a)?,
        Command::Simulate(a) => Validated::Simulate {
            profile: Box::new(fargate_bench::simulate::Profile::load(&a.profile)?),
            results: a.results,
            direction: match a.direction {
                DirectionArg::ClientToServer => probe_core::report::Direction::ClientToServer,
                DirectionArg::ServerToClient => probe_core::report::Direction::ServerToClient,
            },
            prices: prices(&a.prices)?,
            format: a.format,
            output: Output::from_arg(&a.output),
        },
    })
}

fn format(a: &OutputArgs) -> Format {
    if a.wide {
        Format::Wide
    } else {
        a.format
    }
}

fn prices(a: &PriceArgs) -> Result<Prices> {
    let arch = match a.arch {
        ArchArg::X86 => Arch::X86,
        ArchArg::Arm => Arch::Arm,
    };
    Ok(Prices::new(a.prices.as_deref(), a.region.as_deref(), arch)?)
}

fn ecs_overrides(ecs: EcsArgs, images: ImageArgs, region: Option<String>) -> EcsOverrides {
    EcsOverrides {
        config_file: ecs.ecs_config,
        cluster: ecs.cluster,
        subnet: ecs.subnet,
        security_groups: ecs.security_groups,
        assign_public_ip: ecs.assign_public_ip,
        platform_version: ecs.platform_version,
        capacity_wait_secs: ecs.capacity_wait,
        execution_role_arn: ecs.execution_role_arn,
        log_group: ecs.log_group,
        cpu_architecture: ecs.cpu_architecture,
        capacity_provider: ecs.capacity_provider,
        netprobe_image: images.netprobe_image,
        memprobe_image: images.memprobe_image,
        region,
        profile: ecs.profile,
        endpoint_url: ecs.endpoint_url,
    }
}

fn validate_cleanup(a: CleanupArgs) -> Result<Validated> {
    let backend = match a.backend {
        Backend::Local => BackendConfig::Local {
            probe_dir: a.probe_dir,
            link: None,
        },
        Backend::Docker => BackendConfig::Docker {
            netprobe_image: None,
            memprobe_image: None,
            link: None,
        },
        Backend::Ecs => BackendConfig::Ecs(Box::new(EcsSettings::resolve(
            &ecs_overrides(a.ecs, ImageArgs::default(), a.region),
            None,
            true,
        )?)),
    };
    Ok(Validated::Cleanup {
        backend: Box::new(backend),
        run: a.run,
    })
}

fn validate_run(a: RunArgs) -> Result<Validated> {
    let overrides = SuiteOverrides {
        sizes: a.sizes,
        tests: a.tests,
        duration: a.duration,
        receive_wait: a.receive_wait,
        repetitions: a.repetitions,
        concurrency: a.concurrency,
        architectures: a.architectures,
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
    let suite = Suite::load(source, &overrides)?;
    if let Some(dir) = &a.resume {
        runner::check_resumable(dir, a.backend.name(), &suite)?;
    }
    let dry_run = a.ecs.dry_run;
    if dry_run && a.backend != Backend::Ecs {
        bail!(
            "--dry-run prints the ECS task definitions and RunTask requests, so it needs \
             --backend ecs; the local and docker backends have nothing to preview"
        );
    }
    let backend = match a.backend {
        Backend::Local => BackendConfig::Local {
            probe_dir: a.probe_dir,
            link: None,
        },
        Backend::Docker => BackendConfig::Docker {
            netprobe_image: a.images.netprobe_image,
            memprobe_image: a.images.memprobe_image,
            link: None,
        },
        Backend::Ecs => {
            let settings = EcsSettings::resolve(
                &ecs_overrides(a.ecs, a.images, a.prices.region.clone()),
                suite.ecs.as_ref(),
                false,
            )?;
            settings.validate_arches(&suite.architectures)?;
            BackendConfig::Ecs(Box::new(settings))
        }
    };
    let link = a
        .link
        .as_deref()
        .map(|l| LinkSpec::parse(l, a.link_time_scale))
        .transpose()?;
    if let Some(link) = link {
        // Refuse a link that cannot be built for a size now, not when its item comes up.
        for size in &suite.sizes {
            link.params(*size)?;
        }
    }
    // ECS runs are priced where and as they run: the effective region, architecture and
    // capacity provider, whichever of flags, config file and suite set them.
    let mut prices = prices(&a.prices)?;
    if let Some(settings) = backend.ecs() {
        prices = settings.prices(prices);
    }
    Ok(Validated::Run {
        request: Box::new(RunRequest {
            plan: runner::RunPlan {
                suite,
                results_root: a.results,
                resume: a.resume,
                progress: !a.no_progress,
            },
            backend: backend.with_link(link)?,
            prices,
            max_cost_usd: a.max_cost,
        }),
        dry_run,
        format: format(&a.output),
        output: Output::from_arg(&a.output.output),
    })
}
