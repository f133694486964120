//! The local backend: probes run as child processes on loopback. Sizes are emulated where this
//! machine allows: the CPU count by pinning and thread count, the memory limit handed to
//! memprobe. Needs nothing but the probe binaries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::link::{self, LinkSpec, RoutedLink};
use super::poll::{self, Backoff};
use super::{Lifecycle, Platform, Probe, TaskExit, TaskId, TaskRole, TaskSpec};
use crate::error::{BenchError, Result};
use crate::sizes::{Arch, TaskSize};

/// Lines kept per task (the result line is last; the rest is for error messages).
const MAX_LINES: usize = 20_000;

#[derive(Debug)]
struct LocalTask {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// The tasks copying stdout and stderr into `lines`; they end at the pipes' end of file.
    readers: Vec<tokio::task::JoinHandle<()>>,
    port: Option<u16>,
    /// The item of a server with a link (its link is removed when it stops).
    item: Option<String>,
    /// From the launch request until the process was spawned.
    spawned_after: Duration,
    /// When the launch was asked for.
    requested: tokio::time::Instant,
    /// When its first output line arrived (stdout or stderr).
    first_line: Arc<Mutex<Option<tokio::time::Instant>>>,
}

/// Child processes on this machine.
#[derive(Debug)]
pub struct LocalPlatform {
    netprobe: PathBuf,
    memprobe: PathBuf,
    cpus: Vec<u32>,
    tasks: Mutex<HashMap<TaskId, LocalTask>>,
    next: std::sync::atomic::AtomicU64,
    /// `--link`: pairs run in namespaces behind a shaping router.
    link: Option<LinkSpec>,
    /// Each item's link, by item id, while its pair runs.
    links: Mutex<HashMap<String, RoutedLink>>,
}

/// The part of a run id that names its links (the random suffix).
fn link_tag(run_id: &str) -> String {
    run_id
        .rsplit('-')
        .next()
        .unwrap_or(run_id)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect()
}

/// How often local state (a child's output and exit) is looked at.
const LOCAL_POLL: Duration = Duration::from_millis(20);

/// A failure with the error that caused it kept as its source.
fn failed(what: String, source: impl std::error::Error + Send + Sync + 'static) -> BenchError {
    BenchError::Backend {
        backend: "local",
        what,
        source: Some(Box::new(source)),
    }
}

fn err(what: String) -> BenchError {
    BenchError::Backend {
        backend: "local",
        what,
        source: None,
    }
}

/// Finds a probe binary: next to the controller's executable, then on `PATH`, then in
/// `probe_dir`.
///
/// # Errors
/// [`BenchError::ProbeNotFound`] saying where it looked.
pub fn find_probe(name: &str, probe_dir: Option<&Path>) -> Result<PathBuf> {
    let exe = std::env::current_exe().unwrap_or_default();
    let beside = exe.parent().map(|d| d.join(name));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    beside
        .into_iter()
        .chain(on_path)
        .chain(probe_dir.map(|d| d.join(name)))
        .find(|p| p.is_file())
        .ok_or_else(|| BenchError::ProbeNotFound {
            name: name.to_owned(),
            exe: exe.display().to_string(),
        })
}

impl LocalPlatform {
    /// Finds both probes and reads the CPUs this process may use.
    ///
    /// # Errors
    /// [`BenchError::ProbeNotFound`].
    pub fn new(probe_dir: Option<&Path>) -> Result<Self> {
        let cpus = probe_core::HostFacts::collect().affinity_cpus;
        Ok(Self {
            netprobe: find_probe("netprobe", probe_dir)?,
            memprobe: find_probe("memprobe", probe_dir)?,
            cpus: if cpus.is_empty() { vec![0] } else { cpus },
            tasks: Mutex::new(HashMap::new()),
            next: std::sync::atomic::AtomicU64::new(1),
            link: None,
            links: Mutex::new(HashMap::new()),
        })
    }

    /// Runs every server/client pair over an emulated link ([`LinkSpec`]); needs root.
    pub fn with_link(mut self, link: Option<LinkSpec>) -> Self {
        self.link = link;
        self
    }

    /// CPUs a task of `size` gets: whole vCPUs rounded up, clients from the front of the
    /// affinity list and servers from the back, so a pair is split across cores when it can be.
    fn cpus_for(&self, size: TaskSize, role: TaskRole) -> Vec<u32> {
        let n = (size.vcpu().ceil() as usize).clamp(1, self.cpus.len());
        match role {
            TaskRole::Server => self.cpus[self.cpus.len() - n..].to_vec(),
            _ => self.cpus[..n].to_vec(),
        }
    }
}

fn cpu_list(cpus: &[u32]) -> String {
    cpus.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| failed("cannot find a free loopback port".into(), e))?;
    Ok(l.local_addr().map_err(|e| err(e.to_string()))?.port())
}

fn collect<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    reader: R,
    lines: Arc<Mutex<Vec<String>>>,
    first_line: Arc<Mutex<Option<tokio::time::Instant>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            first_line
                .lock()
                .expect("first line lock")
                .get_or_insert_with(tokio::time::Instant::now);
            let mut lines = lines.lock().expect("lines lock");
            if lines.len() == MAX_LINES {
                lines.remove(0);
            }
            lines.push(line);
        }
    })
}

impl Platform for LocalPlatform {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn launch(&self, spec: &TaskSpec) -> Result<TaskId> {
        let requested = tokio::time::Instant::now();
        let cpus = self.cpus_for(spec.size, spec.role);
        let (program, mut args) = match spec.probe {
            Probe::Netprobe => (&self.netprobe, spec.args.clone()),
            Probe::Memprobe => (&self.memprobe, spec.args.clone()),
        };
        let mut port = None;
        // With a link, the pair runs in the item's namespaces: `ip netns exec NS probe ...`.
        let mut namespace = None;
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match (spec.role, self.link) {
            (TaskRole::Server, Some(link)) => {
                let params = link.params(spec.size)?;
                let tag = format!("{}{n}", link_tag(&spec.run_id));
                let routed = tokio::task::spawn_blocking(move || RoutedLink::create(&tag, &params))
                    .await
                    .map_err(|e| failed("creating the link".into(), e))??;
                namespace = Some(routed.namespaces[2].clone());
                self.links
                    .lock()
                    .expect("links lock")
                    .insert(spec.item_id.clone(), routed);
            }
            (TaskRole::Client, Some(_)) => {
                namespace = self
                    .links
                    .lock()
                    .expect("links lock")
                    .get(&spec.item_id)
                    .map(|l| l.namespaces[0].clone());
            }
            _ => {}
        }
        match spec.role {
            TaskRole::Server => {
                let p = free_port()?;
                port = Some(p);
                let bind = if namespace.is_some() {
                    link::SERVER_IP
                } else {
                    "127.0.0.1"
                };
                args.extend(["--bind".into(), bind.into(), "--port".into(), p.to_string()]);
                args.extend(["--cpus".into(), cpu_list(&cpus)]);
            }
            TaskRole::Client => args.extend(["--cpus".into(), cpu_list(&cpus)]),
            TaskRole::Memory => {
                args.extend(["--threads".into(), cpus.len().to_string(), "--pin".into()]);
                args.extend([
                    "--memory-limit".into(),
                    spec.size.memory_bytes().to_string(),
                ]);
            }
        }
        let mut command = match &namespace {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        };
        let mut child = command
            .args(&args)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(format!("cannot start {}", program.display()), e))?;
        let spawned_after = requested.elapsed();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let first_line = Arc::new(Mutex::new(None));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, lines.clone(), first_line.clone()));
        }
        if let Some(errs) = child.stderr.take() {
            readers.push(collect(errs, lines.clone(), first_line.clone()));
        }
        let id = TaskId(format!("{}-{}-{n}", spec.probe.binary(), spec.role.name()));
        self.tasks.lock().expect("tasks lock").insert(
            id.clone(),
            LocalTask {
                child,
                lines,
                readers,
                port,
                item: (spec.role == TaskRole::Server && self.link.is_some())
                    .then(|| spec.item_id.clone()),
                spawned_after,
                requested,
                first_line,
            },
        );
        Ok(id)
    }

    async fn address(&self, task: &TaskId, deadline: Duration) -> Result<String> {
        let ready = poll::until(deadline, Backoff::fixed(LOCAL_POLL), || async {
            let (port, listening, exited) = {
                let mut tasks = self.tasks.lock().expect("tasks lock");
                let t = tasks
                    .get_mut(task)
                    .ok_or_else(|| err(format!("unknown task {}", task.0)))?;
                let listening = t
                    .lines
                    .lock()
                    .expect("lines")
                    .iter()
                    .any(|l| probe_core::contract::is_server_ready_line(l));
                (t.port, listening, t.child.try_wait().ok().flatten())
            };
            let port = port.ok_or_else(|| err(format!("task {} is not a server", task.0)))?;
            if listening {
                let host = if self.link.is_some() {
                    link::SERVER_IP
                } else {
                    "127.0.0.1"
                };
                return Ok(Some(format!("{host}:{port}")));
            }
            if let Some(status) = exited {
                return Err(err(format!(
                    "server task {} exited ({status}) before listening",
                    task.0
                )));
            }
            Ok(None)
        })
        .await?;
        ready.ok_or_else(|| {
            err(format!(
                "server task {} did not listen within {deadline:?}",
                task.0
            ))
        })
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        let exit = poll::until(deadline, Backoff::fixed(LOCAL_POLL), || async {
            let mut tasks = self.tasks.lock().expect("tasks lock");
            let t = tasks
                .get_mut(task)
                .ok_or_else(|| err(format!("unknown task {}", task.0)))?;
            match t.child.try_wait() {
                Ok(Some(status)) => Ok(Some(TaskExit {
                    code: status.code(),
                    reason: status
                        .code()
                        .is_none()
                        .then(|| format!("ended by {status}")),
                    lifecycle: None,
                    platform_version: None,
                })),
                Ok(None) => Ok(None),
                Err(e) => Err(failed(format!("waiting for {}", task.0), e)),
            }
        })
        .await?;
        if let Some(mut exit) = exit {
            // Spawn to first output is the local backend's start-up: once the readers have
            // copied everything the process wrote, its first line's time is known.
            self.output(task).await?;
            exit.lifecycle = self.tasks.lock().expect("tasks lock").get(task).map(|t| {
                Lifecycle::process(
                    t.spawned_after,
                    t.first_line
                        .lock()
                        .expect("first line lock")
                        .map(|f| f.saturating_duration_since(t.requested)),
                )
            });
            return Ok(exit);
        }
        if let Some(t) = self.tasks.lock().expect("tasks lock").get_mut(task) {
            let _ = t.child.start_kill();
        }
        Err(err(format!(
            "task {} ran past its deadline of {deadline:?} and was stopped",
            task.0
        )))
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        // Once the process has exited, wait for the readers to copy everything it wrote (they
        // end at end of file); while it runs, return what has arrived so far.
        let (lines, readers) = {
            let mut tasks = self.tasks.lock().expect("tasks lock");
            let t = tasks
                .get_mut(task)
                .ok_or_else(|| err(format!("unknown task {}", task.0)))?;
            let exited = matches!(t.child.try_wait(), Ok(Some(_)));
            let readers = if exited {
                std::mem::take(&mut t.readers)
            } else {
                Vec::new()
            };
            (t.lines.clone(), readers)
        };
        for reader in readers {
            // A grandchild holding the pipe open must not hang us.
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        let lines = lines.lock().expect("lines").clone();
        Ok(lines)
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        let mut item = None;
        if let Some(t) = self.tasks.lock().expect("tasks lock").get_mut(task) {
            let _ = t.child.start_kill();
            item = t.item.clone();
        }
        // The pair's link goes with its server.
        let routed = item.and_then(|i| self.links.lock().expect("links lock").remove(&i));
        if let Some(routed) = routed {
            let _ = tokio::task::spawn_blocking(move || routed.remove()).await;
        }
        Ok(())
    }

    async fn finish_run(&self, run_id: &str) -> Result<()> {
        if self.link.is_some() {
            let tag = link_tag(run_id);
            let _ = tokio::task::spawn_blocking(move || RoutedLink::remove_all(&tag)).await;
        }
        Ok(())
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        // Our own children first, then any probe process on this machine tagged with the run
        // (left by a controller that was killed).
        let mut stopped = Vec::new();
        for (id, t) in self.tasks.lock().expect("tasks lock").iter_mut() {
            if matches!(t.child.try_wait(), Ok(None)) {
                let _ = t.child.start_kill();
                stopped.push(id.0.clone());
            }
        }
        for (pid, cmdline) in probe_processes(run_id) {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            stopped.push(format!("pid {pid}: {cmdline}"));
        }
        // Links a killed run left (`fbl-<tag>...`), found by name.
        let tag = run_id.map(link_tag).unwrap_or_default();
        stopped.extend(
            tokio::task::spawn_blocking(move || RoutedLink::remove_all(&tag))
                .await
                .unwrap_or_default(),
        );
        Ok(stopped)
    }

    /// The probes are this machine's binaries: another architecture needs the docker backend
    /// (under emulation) or ECS.
    async fn check_arches(&self, arches: &[Arch]) -> Result<()> {
        match arches.iter().find(|a| Some(**a) != Arch::host()) {
            None => Ok(()),
            Some(other) => Err(BenchError::Unsupported {
                backend: "local",
                why: format!(
                    "runs this machine's {} probes and cannot run {other}; \
                     use --backend docker (ARM64 images under qemu emulation, functional only) \
                     or --backend ecs, or drop {other} from `architectures`",
                    std::env::consts::ARCH
                ),
            }),
        }
    }

    fn emulated(&self, size: TaskSize, _arch: Option<Arch>) -> Vec<String> {
        let n = (size.vcpu().ceil() as usize).clamp(1, self.cpus.len());
        let mut e = vec![
            format!(
                "{size}: {n} CPU(s) by pinning and thread count (a fractional quota is not emulated locally)"
            ),
            format!("{size}: memory limit {} MiB handed to memprobe", size.memory_mib),
            match self.link {
                Some(link) => link.describe(size),
                None => "network: loopback, not Fargate's network".to_owned(),
            },
        ];
        if size.vcpu() > self.cpus.len() as f64 {
            e.push(format!(
                "{size}: asks {} vCPUs, this machine has {}",
                size.vcpu(),
                self.cpus.len()
            ));
        }
        e
    }
}

/// Probe processes (netprobe, memprobe) whose command line carries `--run-id RUN`.
fn probe_processes(run_id: Option<&str>) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let exe = Path::new(args.first()?).file_name()?.to_str()?.to_owned();
            if exe != "netprobe" && exe != "memprobe" {
                return None;
            }
            let tagged = args
                .windows(2)
                .any(|w| w[0] == "--run-id" && run_id.is_none_or(|r| w[1] == r));
            tagged.then(|| (pid, args.join(" ")))
        })
        .collect()
}
