//! A scripted [`Platform`] for tests of everything above the seam (like hyperfine's
//! `MockExecutor`): tasks "run" on tokio's clock, print what the script says, and every call is
//! recorded, so the runner's resume, interrupt, error and deadline paths are tested without
//! processes, containers or AWS.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use probe_core::report::{Direction, Role, Throughput};
use probe_core::{result_line, Report};

use super::{Platform, TaskExit, TaskId, TaskRole, TaskSpec};
use crate::error::{BenchError, Result};
use crate::sizes::TaskSize;

/// What one scripted task does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FakeTask {
    /// `launch` fails with this message.
    pub(crate) launch_error: Option<String>,
    /// `address` fails with this message (servers).
    pub(crate) address_error: Option<String>,
    /// How long the task runs before it exits (on tokio's clock).
    pub(crate) runs_for: Duration,
    /// Its exit code.
    pub(crate) exit_code: i32,
    /// What it printed.
    pub(crate) lines: Vec<String>,
}

impl FakeTask {
    /// A task that runs `runs_for` and prints a valid result line for its role.
    pub(crate) fn ok(spec: &TaskSpec, runs_for: Duration) -> Self {
        Self {
            launch_error: None,
            address_error: None,
            runs_for,
            exit_code: 0,
            lines: vec!["starting".into(), result_line_for(spec)],
        }
    }
}

/// A result line such as the probe of `spec` prints: 1 Gbit/s for clients, a report without
/// metrics for servers and memory tasks.
pub(crate) fn result_line_for(spec: &TaskSpec) -> String {
    let role = match spec.role {
        TaskRole::Server => Role::Server,
        TaskRole::Client => Role::Client,
        TaskRole::Memory => Role::Standalone,
    };
    let mut report = Report::new(spec.probe.binary(), "0.0.0-fake", role, "fake");
    report.run_id = Some(spec.run_id.clone());
    if spec.role == TaskRole::Client {
        report.metrics.throughput.push(Throughput {
            direction: Direction::ClientToServer,
            received_bytes: 125_000_000,
            measured_ns: 1_000_000_000,
            bits_per_sec: 1e9,
            streams: Vec::new(),
            regime: None,
        });
    }
    result_line::encode(&report).expect("a fake report encodes")
}

/// Decides each launched task's behaviour from its spec.
pub(crate) type Script = Box<dyn Fn(&TaskSpec) -> FakeTask + Send + Sync>;

/// Everything the platform was asked, for assertions.
#[derive(Debug, Default, Clone)]
pub(crate) struct Calls {
    /// Every spec launched, in order (failed launches included).
    pub(crate) launched: Vec<TaskSpec>,
    /// Tasks stopped one by one.
    pub(crate) stopped: Vec<TaskId>,
    /// Runs swept by `stop_run`, and what each sweep stopped.
    pub(crate) swept: Vec<(Option<String>, Vec<String>)>,
    /// `prepare_run` and `finish_run` calls.
    pub(crate) prepared: usize,
    /// `finish_run` calls.
    pub(crate) finished: usize,
}

struct Running {
    spec: TaskSpec,
    task: FakeTask,
    started: tokio::time::Instant,
    stopped: bool,
}

/// The scripted platform.
pub(crate) struct FakePlatform {
    script: Script,
    tasks: Mutex<HashMap<TaskId, Running>>,
    calls: Mutex<Calls>,
}

impl std::fmt::Debug for FakePlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePlatform").finish_non_exhaustive()
    }
}

fn fail(what: String) -> BenchError {
    BenchError::Backend {
        backend: "fake",
        what,
        source: None,
    }
}

impl FakePlatform {
    /// A platform whose tasks do what `script` says.
    pub(crate) fn new(script: impl Fn(&TaskSpec) -> FakeTask + Send + Sync + 'static) -> Self {
        Self {
            script: Box::new(script),
            tasks: Mutex::new(HashMap::new()),
            calls: Mutex::new(Calls::default()),
        }
    }

    /// What was asked so far.
    pub(crate) fn calls(&self) -> Calls {
        self.calls.lock().expect("calls lock").clone()
    }

    /// Tasks launched and never stopped whose time has not run out: what a real backend would
    /// still be paying for.
    pub(crate) fn still_running(&self) -> Vec<TaskSpec> {
        let now = tokio::time::Instant::now();
        self.tasks
            .lock()
            .expect("tasks lock")
            .values()
            .filter(|r| !r.stopped && r.started + r.task.runs_for > now)
            .map(|r| r.spec.clone())
            .collect()
    }

    fn get(&self, task: &TaskId) -> Result<(FakeTask, tokio::time::Instant)> {
        self.tasks
            .lock()
            .expect("tasks lock")
            .get(task)
            .map(|r| (r.task.clone(), r.started))
            .ok_or_else(|| fail(format!("unknown task {}", task.0)))
    }
}

impl Platform for FakePlatform {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn launch(&self, spec: &TaskSpec) -> Result<TaskId> {
        let task = (self.script)(spec);
        let mut calls = self.calls.lock().expect("calls lock");
        calls.launched.push(spec.clone());
        if let Some(e) = &task.launch_error {
            return Err(fail(e.clone()));
        }
        let id = TaskId(format!("fake-{}", calls.launched.len()));
        self.tasks.lock().expect("tasks lock").insert(
            id.clone(),
            Running {
                spec: spec.clone(),
                task,
                started: tokio::time::Instant::now(),
                stopped: false,
            },
        );
        Ok(id)
    }

    async fn address(&self, task: &TaskId, _deadline: Duration) -> Result<String> {
        let (t, _) = self.get(task)?;
        match t.address_error {
            Some(e) => Err(fail(e)),
            None => Ok(format!(
                "{}:{}",
                task.0,
                probe_core::contract::NETPROBE_PORT
            )),
        }
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        let (t, started) = self.get(task)?;
        let ends = started + t.runs_for;
        let give_up = tokio::time::Instant::now() + deadline;
        if ends > give_up {
            tokio::time::sleep_until(give_up).await;
            self.stop(task).await?;
            return Err(fail(format!(
                "task {} ran past its deadline of {deadline:?} and was stopped",
                task.0
            )));
        }
        tokio::time::sleep_until(ends).await;
        Ok(TaskExit {
            code: Some(t.exit_code),
            reason: None,
            lifecycle: None,
            platform_version: None,
        })
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        Ok(self.get(task)?.0.lines)
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        if let Some(r) = self.tasks.lock().expect("tasks lock").get_mut(task) {
            r.stopped = true;
        }
        self.calls
            .lock()
            .expect("calls lock")
            .stopped
            .push(task.clone());
        Ok(())
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        let now = tokio::time::Instant::now();
        let mut swept = Vec::new();
        for (id, r) in self.tasks.lock().expect("tasks lock").iter_mut() {
            let alive = !r.stopped && r.started + r.task.runs_for > now;
            if alive && run_id.is_none_or(|run| r.spec.run_id == run) {
                r.stopped = true;
                swept.push(id.0.clone());
            }
        }
        swept.sort();
        self.calls
            .lock()
            .expect("calls lock")
            .swept
            .push((run_id.map(str::to_owned), swept.clone()));
        Ok(swept)
    }

    fn emulated(&self, _size: TaskSize, _arch: Option<crate::sizes::Arch>) -> Vec<String> {
        vec!["everything (fake platform)".into()]
    }

    async fn prepare_run(&self, _run_id: &str) -> Result<()> {
        self.calls.lock().expect("calls lock").prepared += 1;
        Ok(())
    }

    async fn finish_run(&self, _run_id: &str) -> Result<()> {
        self.calls.lock().expect("calls lock").finished += 1;
        Ok(())
    }
}
