//! The ECS Fargate backend: one task definition per probe and size (reused when identical),
//! RunTask with command and environment overrides in one subnet, the server's private IP from
//! its ENI attachment, results from CloudWatch Logs, every task tagged with the run id and
//! stopped on exit, error and Ctrl-C.
//!
//! The logic talks to AWS through two small traits, [`api::EcsApi`] and [`logs::LogSource`]:
//! the SDK in a run, a scripted fake on tokio's paused clock in the unit tests (`tests.rs`).
//! One module per stage: `launch` (RunTask, capacity retries), `state` (DescribeTasks shared
//! by every waiter: address, wait, lifecycle), `output` (the log, until the result line),
//! `cleanup` (StopTask, sweeping a run).

pub mod api;
mod cleanup;
mod cluster;
#[cfg(test)]
mod fake;
mod launch;
pub mod limiter;
pub mod logs;
mod output;
mod register;
mod sdk;
pub mod settings;
mod state;
pub mod tags;
pub mod taskdef;
#[cfg(test)]
mod tests;

use sdk::err;
pub use sdk::{is_throttling, sdk_config};

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;

use self::api::{EcsApi, SdkEcs};
use self::launch::{command, tags, START_BUDGET};
use self::limiter::RateLimiter;
use self::logs::{LogCursor, LogSource, SdkLogs};
use self::settings::EcsSettings;
use self::state::Described;
use self::tags::started_by;
use self::taskdef::TaskDefPlan;
use super::lifecycle::EcsTimestamps;
use super::{Platform, TaskExit, TaskId, TaskRole, TaskSpec};
use crate::error::Result;
use crate::sizes::{Arch, TaskSize};

/// How long a server task may take to accept clients: Fargate pulls its image and attaches
/// an ENI first.
pub const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(300);

/// What a server's idle timeout allows on top of its client's capacity wait and start budget:
/// the controller noticing the server RUNNING, RunTask calls and the client's connect.
const SERVER_IDLE_MARGIN: Duration = Duration::from_secs(60);

/// A server's `--idle-timeout` on ECS: its client is launched once the server runs, may retry
/// RunTask for the capacity wait and may then take the start budget to run; a server that gave
/// up sooner would leave a client delayed by capacity with nothing to connect to (2026-12 ECS
/// review, N2). Servers end with their client's test, so a long allowance costs only when
/// capacity is short; the estimate says what that worst case adds.
pub fn server_idle_timeout(settings: &EcsSettings) -> Duration {
    settings.capacity_wait() + START_BUDGET + SERVER_IDLE_MARGIN
}

/// Tag keys on every task.
pub const RUN_TAG: &str = "fargate-bench:run";
const ROLE_TAG: &str = "fargate-bench:role";
const ITEM_TAG: &str = "fargate-bench:item";

/// Events a task wrote before it was created cannot exist; the margin covers a Fargate host's
/// clock running behind the ECS API's.
const LOG_START_MARGIN_MS: i64 = 5 * 60 * 1000;

/// One task this process launched, as it knows it.
#[derive(Debug, Clone)]
struct EcsTask {
    arn: String,
    role: TaskRole,
    item: String,
    zone: Option<String>,
    /// `createdAt` from RunTask, in milliseconds since the epoch: where its log starts.
    created_ms: Option<i64>,
    /// When we first saw it RUNNING: its deadline counts from here.
    started: Option<tokio::time::Instant>,
    /// Seen STOPPED, or stopped by us: cleanup need not stop it again.
    ended: bool,
    /// When RunTask answered with it.
    launched: tokio::time::Instant,
    /// When the launch was asked for (before the first RunTask attempt).
    requested: tokio::time::Instant,
    /// The service's lifecycle timestamps, as DescribeTasks last gave them.
    timestamps: EcsTimestamps,
    /// The platform version DescribeTasks said it runs on.
    platform_version: Option<String>,
}

/// ECS Fargate through `A` (the AWS SDK in a run) with task output from `L` (CloudWatch Logs).
#[derive(Debug)]
pub struct EcsPlatform<A = SdkEcs, L = SdkLogs> {
    ecs: A,
    logs: L,
    /// Shared by every platform of the process ([`limiter::log_reads`]).
    log_limiter: Arc<RateLimiter>,
    log_cursors: std::sync::Mutex<HashMap<String, LogCursor>>,
    settings: EcsSettings,
    region: String,
    /// Task definition ARN per family, each resolved once: launches of other families never
    /// wait behind a registration.
    taskdefs: std::sync::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<String>>>>,
    tasks: std::sync::Mutex<HashMap<TaskId, EcsTask>>,
    last_run_task: AsyncMutex<tokio::time::Instant>,
    described: AsyncMutex<Described>,
    /// A RunTask call was dropped before its answer came (Ctrl-C): a task may exist that no
    /// ARN here names.
    launch_cut_short: AtomicBool,
}

/// One RunTask call as `--dry-run` prints it.
#[derive(Debug, Serialize)]
pub struct RunTaskPreview {
    /// Task definition family.
    pub task_definition: String,
    /// Container command.
    pub command: Vec<String>,
    /// Environment variable names (values hidden).
    pub environment: Vec<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// startedBy.
    pub started_by: String,
}

impl EcsPlatform<SdkEcs, SdkLogs> {
    /// Connects (no call is made until the first launch).
    ///
    /// # Errors
    /// Invalid settings, or no region anywhere in the chain.
    pub async fn new(settings: EcsSettings) -> Result<Self> {
        settings.validate()?;
        Self::connect(settings).await
    }

    /// Connects for finding and stopping tasks only: the images need not be set.
    ///
    /// # Errors
    /// Invalid account settings, or no region anywhere in the chain.
    pub async fn for_cleanup(settings: EcsSettings) -> Result<Self> {
        settings.validate_account()?;
        Self::connect(settings).await
    }

    async fn connect(settings: EcsSettings) -> Result<Self> {
        let config = sdk_config(&settings).await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            err("no AWS region: pass --region, set AWS_REGION or configure a profile".into())
        })?;
        let ecs = SdkEcs {
            ecs: aws_sdk_ecs::Client::new(&config),
        };
        let logs = SdkLogs {
            client: aws_sdk_cloudwatchlogs::Client::new(&config),
            group: settings.log_group.clone(),
        };
        Ok(Self::with_api(
            ecs,
            logs,
            limiter::log_reads(),
            settings,
            region,
        ))
    }

    /// What a run would register and launch, without calling AWS.
    pub fn preview(
        settings: &EcsSettings,
        region: &str,
        spec: &TaskSpec,
    ) -> (TaskDefPlan, RunTaskPreview) {
        let arch = spec.arch.unwrap_or(settings.arch());
        let plan = TaskDefPlan::new(settings, region, spec.probe, spec.size, arch);
        let preview = RunTaskPreview {
            task_definition: plan.family.clone(),
            command: command(spec),
            environment: spec.env.iter().map(|(k, _)| k.clone()).collect(),
            tags: tags(spec)
                .into_iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            started_by: started_by(&spec.run_id),
        };
        (plan, preview)
    }
}

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// The platform over any ECS and Logs implementation (the tests' fakes), reading logs
    /// through `log_limiter`, in `region`. Settings are taken as they are.
    pub(crate) fn with_api(
        ecs: A,
        logs: L,
        log_limiter: Arc<RateLimiter>,
        settings: EcsSettings,
        region: String,
    ) -> Self {
        Self {
            ecs,
            logs,
            log_limiter,
            log_cursors: std::sync::Mutex::new(HashMap::new()),
            settings,
            region,
            taskdefs: std::sync::Mutex::new(HashMap::new()),
            tasks: std::sync::Mutex::new(HashMap::new()),
            last_run_task: AsyncMutex::new(tokio::time::Instant::now() - launch::RUN_TASK_SPACING),
            described: AsyncMutex::new(Described::default()),
            launch_cut_short: AtomicBool::new(false),
        }
    }

    /// Whether tasks of other items than `item` are still running (so vCPUs may free up).
    fn others_alive(&self, item: &str) -> bool {
        self.tasks
            .lock()
            .expect("tasks lock")
            .values()
            .any(|t| !t.ended && t.item != item)
    }

    /// Where a task's log can start: its creation, less a margin for clock skew.
    fn created_ms(&self, arn: &str) -> Option<i64> {
        self.tasks
            .lock()
            .expect("tasks lock")
            .values()
            .find(|t| t.arn == arn)
            .and_then(|t| t.created_ms)
            .map(|ms| ms - LOG_START_MARGIN_MS)
    }

    fn arn_of(&self, task: &TaskId) -> Result<EcsTask> {
        self.tasks
            .lock()
            .expect("tasks lock")
            .get(task)
            .cloned()
            .ok_or_else(|| err(format!("unknown task {}", task.0)))
    }
}

impl<A, L> Platform for EcsPlatform<A, L>
where
    A: EcsApi + std::fmt::Debug + 'static,
    L: LogSource + std::fmt::Debug + 'static,
{
    fn name(&self) -> &'static str {
        "ecs"
    }

    fn server_ready_timeout(&self) -> Duration {
        SERVER_READY_TIMEOUT
    }

    fn server_idle_timeout(&self) -> Duration {
        server_idle_timeout(&self.settings)
    }

    fn capacity(&self) -> Option<crate::sizes::Capacity> {
        Some(crate::sizes::Capacity::from_provider(
            &self.settings.capacity_provider,
        ))
    }

    fn region(&self) -> Option<String> {
        Some(self.region.clone())
    }

    async fn check_arches(&self, arches: &[Arch]) -> Result<()> {
        self.settings.validate_arches(arches)
    }

    async fn launch(&self, spec: &TaskSpec) -> Result<TaskId> {
        self.launch_task(spec).await
    }

    /// The server's address once its task is RUNNING with a private IP (see
    /// `state.rs`: its log is not polled for the ready line).
    async fn address(&self, task: &TaskId, deadline: Duration) -> Result<String> {
        self.running_address(task, deadline).await
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        self.wait_stopped(task, deadline).await
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        self.read_output(task).await
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        self.stop_task(task).await
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        self.stop_run_tasks(run_id).await
    }

    fn emulated(&self, _size: TaskSize, _arch: Option<Arch>) -> Vec<String> {
        Vec::new()
    }

    async fn prepare_run(&self, _run_id: &str) -> Result<()> {
        self.check_log_group().await?;
        self.check_capacity_provider().await
    }
}
