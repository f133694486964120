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

/// What a backend needs to start: one variant per backend, each with what it takes.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    /// Child processes on this machine.
    Local {
        /// Where the probe binaries are (else next to the controller, then PATH).
        probe_dir: Option<PathBuf>,
        /// Pairs run over an emulated link ([`LinkSpec`], needs root).
        link: Option<LinkSpec>,
    },
    /// Containers on this machine's Docker engine.
    Docker {
        /// The netprobe image (default [`DEFAULT_DOCKER_IMAGES`]).
        netprobe_image: Option<String>,
        /// The memprobe image.
        memprobe_image: Option<String>,
        /// Pairs run over an emulated link, shaped on the host side of each veth.
        link: Option<LinkSpec>,
    },
    /// ECS Fargate, with resolved settings ([`EcsSettings::resolve`]; boxed: they are large).
    Ecs(Box<EcsSettings>),
}

impl BackendConfig {
    /// The local backend with probes found next to the controller or on PATH.
    pub fn local() -> Self {
        BackendConfig::Local {
            probe_dir: None,
            link: None,
        }
    }

    /// Which backend this configures.
    pub fn backend(&self) -> Backend {
        match self {
            BackendConfig::Local { .. } => Backend::Local,
            BackendConfig::Docker { .. } => Backend::Docker,
            BackendConfig::Ecs(_) => Backend::Ecs,
        }
    }

    /// The ECS settings, on the ECS backend.
    pub fn ecs(&self) -> Option<&EcsSettings> {
        match self {
            BackendConfig::Ecs(settings) => Some(settings),
            _ => None,
        }
    }

    /// This backend with its pairs run over `link` (`None` leaves it as it is).
    ///
    /// # Errors
    /// [`crate::BenchError::Unsupported`] on ECS, whose network is Fargate's own.
    pub fn with_link(mut self, link: Option<LinkSpec>) -> Result<Self> {
        let Some(link) = link else { return Ok(self) };
        match &mut self {
            BackendConfig::Local { link: l, .. } | BackendConfig::Docker { link: l, .. } => {
                *l = Some(link);
            }
            BackendConfig::Ecs(_) => {
                return Err(crate::BenchError::Unsupported {
                    backend: "ecs",
                    why: "takes no --link: --link emulates Fargate's network, and on ECS the \
                          network is Fargate's own (drop --link)"
                        .into(),
                })
            }
        }
        Ok(self)
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
        Ok(match config {
            BackendConfig::Local { probe_dir, link } => {
                AnyPlatform::Local(LocalPlatform::new(probe_dir.as_deref())?.with_link(*link))
            }
            BackendConfig::Docker {
                netprobe_image,
                memprobe_image,
                link,
            } => {
                let (net, mem) = DEFAULT_DOCKER_IMAGES;
                AnyPlatform::Docker(
                    DockerPlatform::new(
                        netprobe_image.as_deref().unwrap_or(net),
                        memprobe_image.as_deref().unwrap_or(mem),
                    )
                    .await?
                    .with_link(*link),
                )
            }
            BackendConfig::Ecs(settings) => {
                AnyPlatform::Ecs(Box::new(EcsPlatform::new((**settings).clone()).await?))
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
    match config {
        BackendConfig::Local { probe_dir, .. } => {
            LocalPlatform::new(probe_dir.as_deref())?
                .stop_run(run_id)
                .await
        }
        BackendConfig::Docker { .. } => DockerPlatform::stop_run_without_images(run_id).await,
        BackendConfig::Ecs(settings) => {
            EcsPlatform::for_cleanup((**settings).clone())
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

    fn capacity(&self) -> Option<crate::sizes::Capacity> {
        each!(self, p => p.capacity())
    }

    fn region(&self) -> Option<String> {
        each!(self, p => p.region())
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

    fn server_ready_timeout(&self) -> Duration {
        each!(self, p => p.server_ready_timeout())
    }

    fn server_idle_timeout(&self) -> Duration {
        each!(self, p => p.server_idle_timeout())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// "The ecs backend needs its settings" cannot happen: the ECS variant holds them. What
    /// the ECS backend cannot take, an emulated link, is refused by name.
    #[test]
    fn a_link_goes_to_local_and_docker_and_is_refused_on_ecs() {
        let link = LinkSpec::parse("200M", 1.0).unwrap();
        let local = BackendConfig::local().with_link(Some(link)).unwrap();
        assert!(matches!(local, BackendConfig::Local { link: Some(l), .. } if l == link));
        let docker = BackendConfig::Docker {
            netprobe_image: None,
            memprobe_image: None,
            link: None,
        };
        let docker = docker.with_link(Some(link)).unwrap();
        assert!(matches!(
            docker,
            BackendConfig::Docker { link: Some(_), .. }
        ));
        assert_eq!(docker.backend(), Backend::Docker);
        let ecs = BackendConfig::Ecs(Box::default());
        assert_eq!(ecs.backend(), Backend::Ecs);
        assert!(ecs.ecs().is_some());
        let ecs = ecs.with_link(None).unwrap();
        let e = ecs.with_link(Some(link)).unwrap_err();
        assert!(
            matches!(e, crate::BenchError::Unsupported { backend: "ecs", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("drop --link"), "{e}");
    }
}
