//! The seam between orchestration and where tasks run. Pairing, retries, merging and reporting
//! are written once above it; a backend only launches, addresses, waits for, reads and stops
//! tasks, and finds what a run left behind.

pub mod docker;
pub mod ecs;
#[cfg(test)]
pub(crate) mod fake;
pub mod lifecycle;
pub mod link;
pub mod local;
pub mod poll;

use std::future::Future;
use std::time::Duration;

use crate::error::Result;
use crate::sizes::{Arch, TaskSize};

pub use self::lifecycle::Lifecycle;

/// Which probe a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `netprobe`.
    Netprobe,
    /// `memprobe`.
    Memprobe,
}

impl Probe {
    /// Binary name.
    pub fn binary(self) -> &'static str {
        match self {
            Probe::Netprobe => "netprobe",
            Probe::Memprobe => "memprobe",
        }
    }
}

/// The part a task plays in an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRole {
    /// netprobe server: the backend adds where it listens.
    Server,
    /// netprobe client.
    Client,
    /// memprobe.
    Memory,
}

impl TaskRole {
    /// Lower-case name, for labels and tags.
    pub fn name(self) -> &'static str {
        match self {
            TaskRole::Server => "server",
            TaskRole::Client => "client",
            TaskRole::Memory => "memory",
        }
    }
}

/// What to launch.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// Run the task belongs to (every backend labels tasks with it).
    pub run_id: String,
    /// Plan item.
    pub item_id: String,
    /// Part played.
    pub role: TaskRole,
    /// Probe binary.
    pub probe: Probe,
    /// Arguments after the binary name.
    pub args: Vec<String>,
    /// Environment (the pre-shared key travels here, never on the command line).
    pub env: Vec<(String, String)>,
    /// Size to run at (or emulate).
    pub size: TaskSize,
    /// Architecture to run on; `None` is the backend's default (ECS settings'
    /// `cpu_architecture`, or this machine's).
    pub arch: Option<Arch>,
}

/// A launched task, as the backend knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskId(pub String);

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExit {
    /// Exit code, when it exited by itself.
    pub code: Option<i32>,
    /// The backend's reason (signal, stopped reason, OOM...).
    pub reason: Option<String>,
    /// How it came up, from the launch request to running, where the backend saw it.
    pub lifecycle: Option<Lifecycle>,
    /// The Fargate platform version it ran on (ECS: DescribeTasks' `platformVersion`, the
    /// version LATEST resolved to; the task metadata endpoint does not give it).
    pub platform_version: Option<String>,
}

/// A place tasks run: this machine, a Docker engine, or ECS Fargate.
pub trait Platform: Send + Sync + 'static {
    /// `local`, `docker` or `ecs`.
    fn name(&self) -> &'static str;

    /// Starts a task.
    fn launch(&self, spec: &TaskSpec) -> impl Future<Output = Result<TaskId>> + Send;

    /// `host:port` where a server task accepts clients, once it does (waits up to `deadline`).
    fn address(
        &self,
        task: &TaskId,
        deadline: Duration,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Waits for the task to end; stops it and errs past `deadline`, counted from the task's
    /// start (a backend may allow its provisioning on top), or from this call for a task that
    /// was already running when it began. The exit carries how the task came up
    /// ([`Lifecycle`]) where the backend saw it.
    fn wait(
        &self,
        task: &TaskId,
        deadline: Duration,
    ) -> impl Future<Output = Result<TaskExit>> + Send;

    /// Every output line the task printed so far.
    fn output(&self, task: &TaskId) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Stops a task (no error if it already ended).
    fn stop(&self, task: &TaskId) -> impl Future<Output = Result<()>> + Send;

    /// Stops and lists every task of `run_id` (or of every run when `None`) still running.
    fn stop_run(&self, run_id: Option<&str>) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// What this backend emulates rather than provides for `size` on `arch`.
    fn emulated(&self, size: TaskSize, arch: Option<Arch>) -> Vec<String>;

    /// How long a server may take to accept clients once launched: 30 s unless the backend
    /// says otherwise (ECS pulls images and attaches an ENI first).
    fn server_ready_timeout(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// A server's `--idle-timeout`: how long, from its start, it waits for a client to begin a
    /// test. It must outlast everything between the server's start and its client's connect
    /// (on ECS, the client's capacity retries and start budget); by default the ready timeout,
    /// at least a minute.
    fn server_idle_timeout(&self) -> Duration {
        self.server_ready_timeout().max(Duration::from_secs(60))
    }

    /// The Fargate capacity tasks run on, where the backend chooses one (ECS); `None` where
    /// sizes are emulated. Recorded in `run.json`, so the run is priced and chosen as it ran.
    fn capacity(&self) -> Option<crate::sizes::Capacity> {
        None
    }

    /// The AWS Region tasks run in (ECS, as the SDK resolved it); `None` elsewhere. Recorded
    /// in `run.json`, so a later `report` prices the run where it ran.
    fn region(&self) -> Option<String> {
        None
    }

    /// Checks, before anything launches, that the backend can run tasks on each of `arches`
    /// (the local backend runs only this machine's; docker needs an image of each).
    fn check_arches(&self, _arches: &[Arch]) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Sets up what a run's tasks share (a Docker network), before the first launch.
    fn prepare_run(&self, _run_id: &str) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Removes what a run set up, whatever happened (called on success, error and Ctrl-C).
    fn finish_run(&self, _run_id: &str) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}
