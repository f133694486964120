//! One backend choice for `run` and `cleanup`: which platform, what it needs, and one enum
//! that drives every backend through the same runner.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::platform::docker::DockerPlatform;
use crate::platform::ecs::settings::EcsSettings;
use crate::platform::ecs::EcsPlatform;
use crate::platform::link::LinkSpec;
use crate::platform::local::LocalPlatform;
use crate::platform::{Platform, TaskExit, TaskId, TaskSpec};
use crate::sizes::{Arch, TaskSize};

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Child processes on this machine (no cloud, no Docker).
    Local,
    /// Containers on this machine's Docker engine.
    Docker,
    /// AWS ECS Fargate.
    Ecs,
}

impl Backend {
    /// The name a results directory records (`run.json`'s `backend`) and the flag takes.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Docker => "docker",
            Backend::Ecs => "ecs",
        }
    }
}

/// Images the docker backend runs when none are named (built by `scripts/build-images.sh`).
pub const DEFAULT_DOCKER_IMAGES: (&str, &str) = ("netprobe:latest", "memprobe:latest");

/// What a backend needs to start.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// Which backend.
    pub backend: Backend,
    /// Local: where the probe binaries are (else next to the controller, then PATH).
    pub probe_dir: Option<PathBuf>,
    /// Docker: the netprobe image (default [`DEFAULT_DOCKER_IMAGES`]).
    pub netprobe_image: Option<String>,
    /// Docker: the memprobe image.
    pub memprobe_image: Option<String>,
    /// ECS: resolved settings ([`EcsSettings::resolve`]); required for [`Backend::Ecs`].
    pub ecs: Option<EcsSettings>,
    /// Local: pairs run over an emulated link ([`LinkSpec`], needs root).
    pub link: Option<LinkSpec>,
}

impl BackendConfig {
    /// The local backend with probes found next to the controller or on PATH.
    pub fn local() -> Self {
        Self {
            backend: Backend::Local,
            probe_dir: None,
            netprobe_image: None,
            memprobe_image: None,
            ecs: None,
            link: None,
        }
    }

    /// How long a server may take to accept clients: ECS pulls images and attaches an ENI.
    pub fn server_ready_timeout(&self) -> Duration {
        match self.backend {
            Backend::Ecs => Duration::from_secs(300),
            Backend::Local | Backend::Docker => Duration::from_secs(30),
        }
    }

    fn ecs_settings(&self) -> Result<EcsSettings> {
        self.ecs
            .clone()
            .ok_or_else(|| crate::BenchError::EcsSettings {
                path: None,
                why:
                    "the ecs backend needs its settings: pass --ecs-config FILE (scripts/deploy.sh \
                  writes it) or the --cluster, --subnet ... flags"
                        .into(),
            })
    }
}

/// Any backend, behind the one [`Platform`] interface.
#[derive(Debug)]
pub enum AnyPlatform {
    /// This machine.
    Local(LocalPlatform),
    /// The Docker engine.
    Docker(DockerPlatform),
    /// ECS Fargate.
    Ecs(Box<EcsPlatform>),
}

impl AnyPlatform {
    /// Starts the configured backend (checks probes, images or settings).
    ///
    /// # Errors
    /// A probe or image that cannot be found, or invalid ECS settings.
    pub async fn start(config: &BackendConfig) -> Result<Self> {
        Ok(match config.backend {
            Backend::Local => AnyPlatform::Local(
                LocalPlatform::new(config.probe_dir.as_deref())?.with_link(config.link),
            ),
            Backend::Ecs if config.link.is_some() => {
                return Err(crate::BenchError::Unsupported {
                    backend: "ecs",
                    why: "takes no --link: --link emulates Fargate's network, and on ECS the \
                          network is Fargate's own (drop --link)"
                        .into(),
                })
            }
            Backend::Docker => {
                let (net, mem) = DEFAULT_DOCKER_IMAGES;
                AnyPlatform::Docker(
                    DockerPlatform::new(
                        config.netprobe_image.as_deref().unwrap_or(net),
                        config.memprobe_image.as_deref().unwrap_or(mem),
                    )
                    .await?
                    .with_link(config.link),
                )
            }
            Backend::Ecs => {
                AnyPlatform::Ecs(Box::new(EcsPlatform::new(config.ecs_settings()?).await?))
            }
        })
    }
}

/// Stops and lists every task of `run_id` (every fargate-bench task when `None`) that the
/// backend still has. Works without images: cleanup must succeed after they were removed.
///
/// # Errors
/// The backend's own errors (no Docker engine, AWS errors).
pub async fn cleanup(config: &BackendConfig, run_id: Option<&str>) -> Result<Vec<String>> {
    match config.backend {
        Backend::Local => {
            LocalPlatform::new(config.probe_dir.as_deref())?
                .stop_run(run_id)
                .await
        }
        Backend::Docker => DockerPlatform::stop_run_without_images(run_id).await,
        Backend::Ecs => {
            EcsPlatform::for_cleanup(config.ecs_settings()?)
                .await?
                .stop_run(run_id)
                .await
        }
    }
}

macro_rules! each {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            AnyPlatform::Local($p) => $e,
            AnyPlatform::Docker($p) => $e,
            AnyPlatform::Ecs($p) => $e,
        }
    };
}

impl Platform for AnyPlatform {
    fn name(&self) -> &'static str {
        each!(self, p => p.name())
    }

    async fn launch(&self, spec: &TaskSpec) -> Result<TaskId> {
        each!(self, p => p.launch(spec).await)
    }

    async fn address(&self, task: &TaskId, deadline: Duration) -> Result<String> {
        each!(self, p => p.address(task, deadline).await)
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        each!(self, p => p.wait(task, deadline).await)
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        each!(self, p => p.output(task).await)
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        each!(self, p => p.stop(task).await)
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        each!(self, p => p.stop_run(run_id).await)
    }

    fn emulated(&self, size: TaskSize, arch: Option<Arch>) -> Vec<String> {
        each!(self, p => p.emulated(size, arch))
    }

    async fn check_arches(&self, arches: &[Arch]) -> Result<()> {
        each!(self, p => p.check_arches(arches).await)
    }

    async fn prepare_run(&self, run_id: &str) -> Result<()> {
        each!(self, p => p.prepare_run(run_id).await)
    }

    async fn finish_run(&self, run_id: &str) -> Result<()> {
        each!(self, p => p.finish_run(run_id).await)
    }
}
