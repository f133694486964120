//! The docker backend: probe images on a per-run bridge network, Fargate sizes emulated with
//! `--cpus` and `--memory`, results from the container logs, everything labelled with the run
//! id and removed at the end.
//!
//! It drives the `docker` CLI rather than a client library (bollard): the CLI is the engine's
//! stable interface and is on every Docker host, the few calls we need are one-liners, and the
//! controller's build stays lean.

use std::path::Path;
use std::time::{Duration, SystemTime};

use tokio::process::Command;

use super::link::{tbf_args, LinkSpec, TbfParams};
use super::poll::{self, Backoff};
use super::{Lifecycle, Platform, Probe, TaskExit, TaskId, TaskRole, TaskSpec};
use crate::error::{BenchError, Result};
use crate::sizes::{Arch, TaskSize};

/// Label carrying the run id on every container and network.
pub const RUN_LABEL: &str = "fargate-bench.run";

/// netprobe's default control port.
/// How often a starting container is inspected.
const DOCKER_POLL: Duration = Duration::from_millis(100);

const SERVER_PORT: u16 = probe_core::contract::NETPROBE_PORT;

/// A failure with the error that caused it kept as its source.
fn failed(what: String, source: impl std::error::Error + Send + Sync + 'static) -> BenchError {
    BenchError::Backend {
        backend: "docker",
        what,
        source: Some(Box::new(source)),
    }
}

fn err(what: String) -> BenchError {
    BenchError::Backend {
        backend: "docker",
        what,
        source: None,
    }
}

/// Runs `docker ARGS` and returns its stdout.
async fn docker(args: &[&str], env: &[(String, String)]) -> Result<String> {
    let out = Command::new("docker")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .map_err(|e| {
            err(format!(
                "cannot run the docker CLI: {e}; is Docker installed?"
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Run 'docker"))
            .collect();
        return Err(err(format!(
            "`docker {}` failed: {}",
            args.first().copied().unwrap_or(""),
            message.join("; ")
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The time of the first line of `docker logs --timestamps` output (each line starts with an
/// RFC 3339 time and a space).
fn first_timestamp(text: &str) -> Option<SystemTime> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let stamp = line.split(' ').next()?;
    humantime::parse_rfc3339_weak(stamp).ok()
}

/// Containers on this machine's Docker engine.
#[derive(Debug)]
pub struct DockerPlatform {
    netprobe_image: String,
    memprobe_image: String,
    /// The (netprobe, memprobe) images of each architecture a run names, found by
    /// [`Platform::check_arches`].
    by_arch: std::sync::Mutex<std::collections::BTreeMap<Arch, (String, String)>>,
    next: std::sync::atomic::AtomicU64,
    /// `--link`: the host side of each probe container's veth is shaped.
    link: Option<LinkSpec>,
    /// When each container's launch was asked for (this machine's wall clock, the engine's).
    requested: std::sync::Mutex<std::collections::HashMap<String, SystemTime>>,
}

/// The host-side interface of `container`'s `eth0` (its veth peer on the bridge).
async fn host_veth(container: &str) -> Result<String> {
    let pid = docker(&["inspect", "--format", "{{.State.Pid}}", container], &[]).await?;
    let out = Command::new("nsenter")
        .args(["-t", pid.trim(), "-n", "ip", "-o", "link", "show", "eth0"])
        .output()
        .await
        .map_err(|e| failed("--link needs nsenter (util-linux) and root".into(), e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `108: eth0@if109: <...>`: the peer is interface 109 in the host's namespace.
    let peer = text
        .split_once("@if")
        .and_then(|(_, rest)| rest.split(':').next())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty())
        .ok_or_else(|| {
            err(format!(
                "cannot find {container}'s veth peer (nsenter said {:?}); --link needs root",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })?
        .to_owned();
    let host = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .await
        .map_err(|e| failed("listing host interfaces".into(), e))?;
    String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| {
            let (index, rest) = l.split_once(": ")?;
            (index == peer).then(|| rest.split(['@', ':']).next().unwrap_or("").to_owned())
        })
        .filter(|name| !name.is_empty())
        .ok_or_else(|| err(format!("no host interface {peer} for {container}")))
}

/// Shapes the traffic the bridge sends into `container`: in the path, as Fargate shapes.
async fn shape(container: &str, params: &TbfParams) -> Result<()> {
    let dev = host_veth(container).await?;
    let mut args = vec![
        "qdisc".to_owned(),
        "replace".to_owned(),
        "dev".to_owned(),
        dev.clone(),
    ];
    args.extend(["root".to_owned(), "tbf".to_owned()]);
    args.extend(tbf_args(params));
    let out = Command::new("tc")
        .args(&args)
        .output()
        .await
        .map_err(|e| failed("--link needs tc (iproute2)".into(), e))?;
    if !out.status.success() {
        return Err(err(format!(
            "tc {} failed: {}; --link needs root",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The tag `scripts/build-images.sh` gives an architecture's image next to the plain one:
/// `netprobe:latest` becomes `netprobe:latest-arm64` (a registry port is not a tag).
pub fn arch_tag(image: &str, arch: Arch) -> String {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    if image[name_start..].contains(':') {
        format!("{image}-{}", arch.docker_name())
    } else {
        format!("{image}:latest-{}", arch.docker_name())
    }
}

/// The image of `arch` among `image` and its [`arch_tag`]: the first whose architecture is
/// `arch`, or an error that names both and the build command.
async fn image_for(image: &str, arch: Arch) -> Result<String> {
    let tagged = arch_tag(image, arch);
    let mut found = Vec::new();
    for candidate in [image.to_owned(), tagged.clone()] {
        match docker(
            &[
                "image",
                "inspect",
                "--format",
                "{{.Architecture}}",
                &candidate,
            ],
            &[],
        )
        .await
        {
            Ok(built) if built.trim() == arch.docker_name() => return Ok(candidate),
            Ok(built) => found.push(format!("{candidate} is {}", built.trim())),
            Err(_) => found.push(format!("{candidate} does not exist")),
        }
    }
    Err(err(format!(
        "no {arch} image of {image}: {}; build one with scripts/build-images.sh --arch {} \
         (or --arch both)",
        found.join(" and "),
        arch.docker_name()
    )))
}

/// Whether this machine can run `arch` containers: natively, or through qemu registered with
/// binfmt_misc (which `scripts/setup-cross.sh` does). Unknown (a remote engine) counts as yes.
fn runnable_here(arch: Arch) -> std::result::Result<(), String> {
    if Some(arch) == Arch::host() || std::env::var_os("DOCKER_HOST").is_some() {
        return Ok(());
    }
    let handler = format!("/proc/sys/fs/binfmt_misc/qemu-{}", arch.rust_name());
    if Path::new(&handler).exists() {
        Ok(())
    } else {
        Err(format!(
            "this {} machine cannot run {arch} containers: no qemu handler at {handler}; run \
             scripts/setup-cross.sh (root) to install qemu-user-static and register it",
            std::env::consts::ARCH
        ))
    }
}

fn network_name(run_id: &str) -> String {
    format!("fargate-bench-{run_id}")
}

impl DockerPlatform {
    /// Checks that the engine answers and both images exist.
    ///
    /// # Errors
    /// [`BenchError::Backend`] saying what is missing and how to get it.
    pub async fn new(netprobe_image: &str, memprobe_image: &str) -> Result<Self> {
        docker(&["version", "--format", "{{.Server.Version}}"], &[])
            .await
            .map_err(|e| err(format!("cannot reach the Docker engine ({e}); is dockerd running and may this user use it?")))?;
        for image in [netprobe_image, memprobe_image] {
            docker(&["image", "inspect", "--format", "{{.Id}}", image], &[])
                .await
                .map_err(|_| {
                    err(format!(
                        "image {image} not found; build it with scripts/build-images.sh"
                    ))
                })?;
        }
        Ok(Self {
            netprobe_image: netprobe_image.to_owned(),
            memprobe_image: memprobe_image.to_owned(),
            by_arch: Default::default(),
            next: std::sync::atomic::AtomicU64::new(1),
            link: None,
            requested: Default::default(),
        })
    }

    /// Shapes every server and client container's network ([`LinkSpec`]); needs root.
    pub fn with_link(mut self, link: Option<LinkSpec>) -> Self {
        self.link = link;
        self
    }

    /// Removes a run's containers and network without checking for images (for `cleanup`).
    ///
    /// # Errors
    /// [`BenchError::Backend`] when the engine cannot be reached.
    pub async fn stop_run_without_images(run_id: Option<&str>) -> Result<Vec<String>> {
        let platform = DockerPlatform {
            netprobe_image: String::new(),
            memprobe_image: String::new(),
            by_arch: Default::default(),
            next: std::sync::atomic::AtomicU64::new(1),
            link: None,
            requested: Default::default(),
        };
        platform.stop_run(run_id).await
    }

    /// The container's way up on this machine's clock (the engine's timestamps: `.Created`,
    /// `.State.StartedAt`, and the first line of `docker logs --timestamps`); the images are
    /// local, so there is no pull. `None` when the engine does not say.
    async fn lifecycle(&self, task: &TaskId) -> Option<Lifecycle> {
        let requested = *self
            .requested
            .lock()
            .expect("requested lock")
            .get(&task.0)?;
        let times = docker(
            &[
                "inspect",
                "--format",
                "{{.Created}} {{.State.StartedAt}}",
                &task.0,
            ],
            &[],
        )
        .await
        .ok()?;
        let mut times = times
            .split_whitespace()
            .map(|t| humantime::parse_rfc3339_weak(t).ok());
        let created = times.next()??;
        let started = times.next().flatten();
        let out = Command::new("docker")
            .args(["logs", "--timestamps", &task.0])
            .output()
            .await
            .ok()?;
        let first = [&out.stdout, &out.stderr]
            .iter()
            .filter_map(|text| first_timestamp(&String::from_utf8_lossy(text)))
            .min();
        Some(Lifecycle::container(requested, created, started, first))
    }

    async fn logs(&self, task: &TaskId) -> Result<Vec<String>> {
        let out = Command::new("docker")
            .args(["logs", &task.0])
            .output()
            .await
            .map_err(|e| failed(format!("docker logs {}", task.0), e))?;
        if !out.status.success() {
            return Err(err(format!(
                "docker logs {}: {}",
                task.0,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        // Result lines are on stdout, messages on stderr: keep both, stderr last.
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
            .map(str::to_owned)
            .collect())
    }

    /// Names of containers or networks labelled with `run_id` (every run's when `None`).
    async fn labelled(kind: &str, run_id: Option<&str>) -> Result<Vec<String>> {
        let filter = match run_id {
            Some(r) => format!("label={RUN_LABEL}={r}"),
            None => format!("label={RUN_LABEL}"),
        };
        let args: &[&str] = match kind {
            "network" => &[
                "network",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}}",
            ],
            _ => &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
        };
        Ok(docker(args, &[])
            .await?
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect())
    }

    async fn containers(run_id: Option<&str>) -> Result<Vec<String>> {
        Self::labelled("container", run_id).await
    }

    async fn networks(run_id: Option<&str>) -> Result<Vec<String>> {
        Self::labelled("network", run_id).await
    }
}

impl Platform for DockerPlatform {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn prepare_run(&self, run_id: &str) -> Result<()> {
        let label = format!("{RUN_LABEL}={run_id}");
        let net = network_name(run_id);
        if Self::networks(Some(run_id)).await?.contains(&net) {
            return Ok(()); // resuming
        }
        docker(
            &[
                "network", "create", "--driver", "bridge", "--label", &label, &net,
            ],
            &[],
        )
        .await?;
        Ok(())
    }

    async fn finish_run(&self, run_id: &str) -> Result<()> {
        for c in Self::containers(Some(run_id)).await? {
            let _ = docker(&["rm", "-f", &c], &[]).await;
        }
        for n in Self::networks(Some(run_id)).await? {
            docker(&["network", "rm", &n], &[]).await?;
        }
        Ok(())
    }

    async fn launch(&self, spec: &TaskSpec) -> Result<TaskId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("fb-{}-{}-{n}", spec.run_id, spec.role.name());
        self.requested
            .lock()
            .expect("requested lock")
            .insert(name.clone(), SystemTime::now());
        let by_arch = spec
            .arch
            .and_then(|a| self.by_arch.lock().expect("images lock").get(&a).cloned());
        let (netprobe, memprobe) =
            by_arch.unwrap_or_else(|| (self.netprobe_image.clone(), self.memprobe_image.clone()));
        let image = match spec.probe {
            Probe::Netprobe => netprobe,
            Probe::Memprobe => memprobe,
        };
        let platform = spec.arch.map(|a| format!("linux/{}", a.docker_name()));
        let (run_label, item_label, role_label) = (
            format!("{RUN_LABEL}={}", spec.run_id),
            format!("fargate-bench.item={}", spec.item_id),
            format!("fargate-bench.role={}", spec.role.name()),
        );
        let cpus = format!("{}", spec.size.vcpu());
        let memory = format!("{}m", spec.size.memory_mib);
        let network = network_name(&spec.run_id);
        let mut args: Vec<&str> = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &network,
            "--label",
            &run_label,
            "--label",
            &item_label,
            "--label",
            &role_label,
            "--cpus",
            &cpus,
            "--memory",
            &memory,
            "--memory-swap",
            &memory,
        ];
        // Secrets travel in the CLI's environment (`-e NAME` without a value), never in argv.
        for (k, _) in &spec.env {
            args.extend(["-e", k.as_str()]);
        }
        if let Some(platform) = &platform {
            args.extend(["--platform", platform.as_str()]);
        }
        args.push(&image);
        args.extend(spec.args.iter().map(String::as_str));
        docker(&args, &spec.env).await?;
        if let (Some(link), TaskRole::Server | TaskRole::Client) = (self.link, spec.role) {
            // Each task gets its own bucket, as each Fargate task has; the veth and its qdisc
            // go with the container.
            let shaped = match link.params(spec.size) {
                Ok(params) => shape(&name, &params).await,
                Err(e) => Err(e),
            };
            if let Err(e) = shaped {
                let _ = docker(&["rm", "-f", &name], &[]).await;
                return Err(e);
            }
        }
        Ok(TaskId(name))
    }

    async fn address(&self, task: &TaskId, deadline: Duration) -> Result<String> {
        let start = tokio::time::Instant::now();
        let ready = poll::until(deadline, Backoff::fixed(DOCKER_POLL), || async {
            let state = docker(
                &[
                    "inspect",
                    "--format",
                    "{{.State.Running}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                    &task.0,
                ],
                &[],
            )
            .await?;
            let mut parts = state.split_whitespace();
            let running = parts.next() == Some("true");
            let ip = parts.next().unwrap_or("").to_owned();
            let listening = self
                .logs(task)
                .await?
                .iter()
                .any(|l| probe_core::contract::is_server_ready_line(l));
            if running && listening && !ip.is_empty() {
                return Ok(Some(format!("{ip}:{SERVER_PORT}")));
            }
            if !running && start.elapsed() > Duration::from_secs(1) {
                let lines = self.logs(task).await.unwrap_or_default();
                return Err(err(format!(
                    "server container {} stopped before listening: {}",
                    task.0,
                    lines.last().cloned().unwrap_or_default()
                )));
            }
            Ok(None)
        })
        .await?;
        ready.ok_or_else(|| {
            err(format!(
                "server container {} did not listen within {deadline:?}",
                task.0
            ))
        })
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        let waited = tokio::time::timeout(deadline, docker(&["wait", &task.0], &[])).await;
        let code = match waited {
            Ok(out) => out?.trim().parse::<i32>().ok(),
            Err(_) => {
                let _ = docker(&["kill", &task.0], &[]).await;
                return Err(err(format!(
                    "container {} ran past its deadline of {deadline:?} and was stopped",
                    task.0
                )));
            }
        };
        let oom = docker(
            &["inspect", "--format", "{{.State.OOMKilled}}", &task.0],
            &[],
        )
        .await
        .map(|s| s.trim() == "true")
        .unwrap_or(false);
        let reason = if oom {
            Some("OOM-killed: the task needs more memory than its size gives".to_owned())
        } else if code == Some(137) {
            Some("killed (SIGKILL): stopped from outside".to_owned())
        } else {
            None
        };
        Ok(TaskExit {
            code,
            reason,
            lifecycle: self.lifecycle(task).await,
            platform_version: None,
        })
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        self.logs(task).await
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        let _ = docker(&["rm", "-f", &task.0], &[]).await;
        Ok(())
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        let mut stopped = Vec::new();
        for c in Self::containers(run_id).await? {
            if docker(&["rm", "-f", &c], &[]).await.is_ok() {
                stopped.push(format!("container {c}"));
            }
        }
        for n in Self::networks(run_id).await? {
            if docker(&["network", "rm", &n], &[]).await.is_ok() {
                stopped.push(format!("network {n}"));
            }
        }
        Ok(stopped)
    }

    async fn check_arches(&self, arches: &[Arch]) -> Result<()> {
        for &arch in arches {
            runnable_here(arch).map_err(err)?;
            let images = (
                image_for(&self.netprobe_image, arch).await?,
                image_for(&self.memprobe_image, arch).await?,
            );
            self.by_arch
                .lock()
                .expect("images lock")
                .insert(arch, images);
        }
        Ok(())
    }

    fn emulated(&self, size: TaskSize, arch: Option<Arch>) -> Vec<String> {
        let foreign = arch.filter(|a| Some(*a) != Arch::host()).map(|a| {
            format!(
                "{a}: qemu user-mode emulation on this {} host; functional only, not {a} \
                 hardware's performance",
                std::env::consts::ARCH
            )
        });
        let mut e = vec![
            format!(
                "{size}: docker --cpus {} (CFS quota) and --memory {}m on one Docker host",
                size.vcpu(),
                size.memory_mib
            ),
            match self.link {
                Some(link) => link.describe(size),
                None => "network: a Docker bridge on one host, not Fargate's network".to_owned(),
            },
        ];
        e.extend(foreign);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_output_line_is_read_off_docker_logs_timestamps() {
        let text = "2026-12-06T08:14:31.123456789Z netprobe listening\n\
                    2026-12-06T08:14:33.000000001Z FBRESULT {}\n";
        let first = first_timestamp(text).unwrap();
        let at = humantime::parse_rfc3339("2026-12-06T08:14:31Z").unwrap();
        assert_eq!(
            first.duration_since(at).unwrap(),
            Duration::from_nanos(123_456_789)
        );
        assert_eq!(first_timestamp(""), None);
        assert_eq!(first_timestamp("no time here\n"), None);
    }
}
