//! The ECS Fargate backend: one task definition per probe and size (reused when identical),
//! RunTask with command and environment overrides in one subnet, the server's private IP from
//! its ENI attachment, results from CloudWatch Logs, every task tagged with the run id and
//! stopped on exit, error and Ctrl-C.

mod cluster;
pub mod limiter;
pub mod logs;
mod register;
mod sdk;
pub mod settings;
pub mod tags;
pub mod taskdef;

use sdk::{aws_err, err};
pub use sdk::{is_throttling, sdk_config};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    DesiredStatus, KeyValuePair, LaunchType, NetworkConfiguration, Tag, TaskField, TaskOverride,
};
use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;

use self::limiter::RateLimiter;
use self::logs::{LogCursor, ReadEnd, SdkLogs, Settle};
use self::settings::EcsSettings;
use self::tags::{started_by, tag_value};
use self::taskdef::{log_stream, TaskDefPlan, CONTAINER, SERVER_PORT};
use super::poll::{self, Backoff};
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

/// How often a waiting task looks at its state. The answers come from one shared DescribeTasks
/// call for every task of the run (up to 100 per call), at most once per [`DESCRIBE_EVERY`],
/// so the API rate stays flat however many pairs run at once.
const ECS_POLL: Backoff = Backoff::fixed(Duration::from_millis(500));

/// The shared DescribeTasks call is made at most this often.
const DESCRIBE_EVERY: Duration = Duration::from_secs(1);

/// How long CloudWatch Logs is given to show a finished task's result line, counted in answered
/// reads ([`logs::Settle`]): a read queued behind the limiter does not use it up.
const LOG_SETTLE: Duration = Duration::from_secs(30);

/// How long a finished task's log is read at most, whatever the queue.
const LOG_GIVE_UP: Duration = Duration::from_secs(600);

/// How often a finished task's log is read again while its result line has not shown up: from
/// 1 s, doubling to 5 s, the awslogs driver's own batch interval (nothing can show up faster).
const LOG_REREAD: Backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(5));

/// Events a task wrote before it was created cannot exist; the margin covers a Fargate host's
/// clock running behind the ECS API's.
const LOG_START_MARGIN_MS: i64 = 5 * 60 * 1000;

/// How long a task may take to reach RUNNING (provisioning, ENI, image pull) before its own
/// deadline starts: Fargate's start is not the test's time.
const START_BUDGET: Duration = Duration::from_secs(600);

/// RunTask retries while capacity is unavailable: 2 s, doubling to 60 s.
const CAPACITY_BACKOFF: Backoff =
    Backoff::exponential(Duration::from_secs(2), Duration::from_secs(60));

/// RunTask is limited to 20 calls per second per account: keep under it.
const RUN_TASK_SPACING: Duration = Duration::from_millis(60);

/// A task younger than this that StopTask does not find may just not be visible yet (ECS is
/// eventually consistent right after RunTask): StopTask is retried every [`STOP_RETRY`] until
/// the task is this old, and only then is "not found" taken as gone.
const FRESH_TASK: Duration = Duration::from_secs(30);
const STOP_RETRY: Duration = Duration::from_secs(2);

/// After a RunTask cut short by Ctrl-C, the run's tasks are listed again this much later: its
/// task may exist without this process knowing its ARN, and ListTasks may lag behind RunTask.
const SWEEP_AGAIN: Duration = Duration::from_secs(5);

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
}

/// ECS Fargate through the AWS SDK.
#[derive(Debug)]
pub struct EcsPlatform {
    ecs: aws_sdk_ecs::Client,
    logs: SdkLogs,
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

/// The last shared DescribeTasks answer.
#[derive(Debug, Default)]
struct Described {
    at: Option<tokio::time::Instant>,
    tasks: HashMap<String, aws_sdk_ecs::types::Task>,
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

impl EcsPlatform {
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
        Ok(Self {
            ecs: aws_sdk_ecs::Client::new(&config),
            logs: SdkLogs {
                client: aws_sdk_cloudwatchlogs::Client::new(&config),
                group: settings.log_group.clone(),
            },
            log_limiter: limiter::log_reads(),
            log_cursors: std::sync::Mutex::new(HashMap::new()),
            settings,
            region,
            taskdefs: std::sync::Mutex::new(HashMap::new()),
            tasks: std::sync::Mutex::new(HashMap::new()),
            last_run_task: AsyncMutex::new(tokio::time::Instant::now() - RUN_TASK_SPACING),
            described: AsyncMutex::new(Described::default()),
            launch_cut_short: AtomicBool::new(false),
        })
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

    /// The task's latest state. Every task of the run that has not ended is described in one
    /// call (batches of 100, the API's maximum) at most once per [`DESCRIBE_EVERY`]; concurrent
    /// waiters share the answer.
    async fn describe(&self, arn: &str) -> Result<Option<aws_sdk_ecs::types::Task>> {
        let mut cache = self.described.lock().await;
        let fresh = cache.at.is_some_and(|at| at.elapsed() < DESCRIBE_EVERY);
        if !fresh || !cache.tasks.contains_key(arn) {
            let mut arns: Vec<String> = self
                .tasks
                .lock()
                .expect("tasks lock")
                .values()
                .filter(|t| !t.ended)
                .map(|t| t.arn.clone())
                .collect();
            if !arns.iter().any(|a| a == arn) {
                arns.push(arn.to_owned());
            }
            for chunk in arns.chunks(100) {
                let out = self
                    .ecs
                    .describe_tasks()
                    .cluster(&self.settings.cluster)
                    .set_tasks(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| aws_err("DescribeTasks", e))?;
                for t in out.tasks() {
                    if let Some(a) = t.task_arn() {
                        cache.tasks.insert(a.to_owned(), t.clone());
                    }
                }
            }
            cache.at = Some(tokio::time::Instant::now());
        }
        Ok(cache.tasks.get(arn).cloned())
    }

    /// Records what a DescribeTasks answer says about one of our tasks: when it started, whether
    /// it ended, and its zone (warning when a client runs in another zone than its server: one
    /// subnet should make that impossible, and cross-AZ figures are not comparable).
    fn observe(&self, task: &TaskId, described: &aws_sdk_ecs::types::Task) {
        let mut tasks = self.tasks.lock().expect("tasks lock");
        let Some(me) = tasks.get_mut(task) else {
            return;
        };
        let status = described.last_status().unwrap_or_default();
        if me.started.is_none()
            && (status == "RUNNING" || described.started_at().is_some())
            && status != "PROVISIONING"
            && status != "PENDING"
        {
            me.started = Some(tokio::time::Instant::now());
        }
        if status == "STOPPED" {
            me.ended = true;
        }
        let Some(zone) = described.availability_zone() else {
            return;
        };
        if me.zone.is_some() {
            return;
        }
        me.zone = Some(zone.to_owned());
        let (item, role) = (me.item.clone(), me.role);
        let other = tasks
            .values()
            .find(|t| t.item == item && t.role != role && t.zone.is_some())
            .and_then(|t| t.zone.clone());
        if let Some(other) = other.filter(|o| o != zone) {
            eprintln!(
                "warning: {item}: client and server run in different availability zones \
                 ({zone} and {other}); use a single subnet so latency and throughput are not \
                 cross-AZ"
            );
        }
    }

    /// Keeps RunTask under its documented rate (20 calls per second per account).
    async fn pace_run_task(&self) {
        let mut last = self.last_run_task.lock().await;
        let wait =
            (*last + RUN_TASK_SPACING).saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(wait).await;
        *last = tokio::time::Instant::now();
    }

    /// Every task of `run_id` (every fargate-bench task when `None`) not yet STOPPED. ListTasks
    /// takes `startedBy` only as its sole filter (ListTasks in the API reference), so a run's
    /// tasks are listed by `startedBy` alone and their status read from DescribeTasks; without a
    /// run, RUNNING tasks are listed and kept when they carry our run tag.
    async fn list_run_tasks(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let mut req = self
                .ecs
                .list_tasks()
                .cluster(&self.settings.cluster)
                .set_next_token(token.clone());
            req = match run_id {
                Some(r) => req.started_by(started_by(r)),
                None => req.desired_status(DesiredStatus::Running),
            };
            let out = req.send().await.map_err(|e| aws_err("ListTasks", e))?;
            arns.extend(out.task_arns().iter().cloned());
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let mut live = Vec::new();
        for chunk in arns.chunks(100) {
            let described = self
                .ecs
                .describe_tasks()
                .cluster(&self.settings.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .include(TaskField::Tags)
                .send()
                .await
                .map_err(|e| aws_err("DescribeTasks", e))?;
            for t in described.tasks() {
                let ours = t.tags().iter().any(|tag| {
                    tag.key() == Some(RUN_TAG)
                        && run_id.is_none_or(|r| tag.value() == Some(tag_value(r).as_str()))
                });
                if ours && t.last_status() != Some("STOPPED") {
                    live.push(t.task_arn().unwrap_or_default().to_owned());
                }
            }
        }
        Ok(live)
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

/// Held across a RunTask call: dropped before the call returns (the launch was cancelled), it
/// records that a task may have started whose ARN this process never got.
struct CutShort<'a> {
    flag: &'a AtomicBool,
    answered: bool,
}

impl Drop for CutShort<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

fn command(spec: &TaskSpec) -> Vec<String> {
    spec.args.clone()
}

fn tags(spec: &TaskSpec) -> Vec<Tag> {
    vec![
        Tag::builder()
            .key(RUN_TAG)
            .value(tag_value(&spec.run_id))
            .build(),
        Tag::builder().key(ROLE_TAG).value(spec.role.name()).build(),
        Tag::builder()
            .key(ITEM_TAG)
            .value(tag_value(&spec.item_id))
            .build(),
    ]
}

/// A RunTask client token for one launch attempt. AWS remembers a token for 24 hours and
/// answers ConflictException when it comes back with other parameters, so every attempt
/// (a resumed run's too) draws a fresh `nonce`; the SDK's own retries of that attempt resend
/// the same token, which makes them idempotent. At most 64 characters from 33-126 (RunTask
/// in the API reference): the run id is kept whole when it fits, the item is hashed.
fn client_token(spec: &TaskSpec, nonce: u64) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut item = std::collections::hash_map::DefaultHasher::new();
    spec.item_id.hash(&mut item);
    let mut run: String = spec
        .run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if run.len() > 32 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        spec.run_id.hash(&mut h);
        run = format!("{:016x}", h.finish());
    }
    let role = &spec.role.name()[..1];
    format!("{run}-{role}-{:08x}-{nonce:016x}", item.finish() as u32)
}

/// Whether a RunTask failure is Fargate being out of capacity, which clears with time.
fn is_capacity_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("capacity is unavailable") || r.contains("insufficient capacity")
}

/// Whether a RunTask failure is the account's Fargate vCPU quota ("You've reached the limit on
/// the number of vCPUs you can run concurrently"), which frees as tasks end.
fn is_vcpu_quota_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("limit on the number of vcpus") || r.contains("vcpu limit")
}

/// How a STOPPED task ended, from its DescribeTasks answer.
fn stopped_exit(d: &aws_sdk_ecs::types::Task) -> TaskExit {
    let container = d.containers().iter().find(|c| c.name() == Some(CONTAINER));
    let code = container.and_then(|c| c.exit_code());
    let reason = d.stopped_reason().map(str::to_owned).filter(|r| {
        // The normal end of a task whose container exited is not a failure reason.
        !r.starts_with("Essential container in task exited")
    });
    let reason = match (reason, container.and_then(|c| c.reason())) {
        (Some(r), Some(c)) => Some(format!("{r} ({c})")),
        (r, c) => r.or(c.map(str::to_owned)),
    };
    TaskExit {
        code,
        reason: reason.map(|r| with_arch_hint(&r)),
    }
}

/// A stop reason that says the image is of another architecture gets the fix appended:
/// Fargate reports "no matching manifest for linux/arm64" when a pull finds no entry for the
/// task's `runtimePlatform`, and a task started from a foreign binary exits with
/// "exec format error".
fn with_arch_hint(reason: &str) -> String {
    let r = reason.to_ascii_lowercase();
    if r.contains("no matching manifest") || r.contains("exec format error") {
        format!(
            "{reason}; the image has no build for this task's cpu architecture: push both \
             with scripts/push-images.sh --arch both (a multi-architecture manifest), or set \
             cpu_architecture / --architecture to the image's"
        )
    } else {
        reason.to_owned()
    }
}

fn private_ip(task: &aws_sdk_ecs::types::Task) -> Option<String> {
    task.attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .map(str::to_owned)
}

impl Platform for EcsPlatform {
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
        let arch = spec.arch.unwrap_or(self.settings.arch());
        let task_definition = self.task_definition(spec.probe, spec.size, arch).await?;
        let s = &self.settings;
        let vpc = AwsVpcConfiguration::builder()
            .subnets(&s.subnet)
            .set_security_groups(Some(s.security_groups.clone()))
            .assign_public_ip(if s.public_ip() {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| err(e.to_string()))?;
        let mut container = ContainerOverride::builder()
            .name(CONTAINER)
            .set_command(Some(command(spec)));
        for (k, v) in &spec.env {
            container = container.environment(KeyValuePair::builder().name(k).value(v).build());
        }
        let mut request = self
            .ecs
            .run_task()
            .cluster(&s.cluster)
            .task_definition(&task_definition);
        // On demand, `launchType=FARGATE` runs on any cluster. FARGATE_SPOT exists only as a
        // capacity provider, which must be associated with the cluster (prepare_run checked),
        // and a strategy excludes `launchType` (RunTask, capacityProviderStrategy).
        request = if s.spot() {
            request.capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(&s.capacity_provider)
                    .weight(1)
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            )
        } else {
            request.launch_type(LaunchType::Fargate)
        };
        let request = request
            .set_platform_version(s.platform_version.clone())
            .count(1)
            .started_by(started_by(&spec.run_id))
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .overrides(
                TaskOverride::builder()
                    .container_overrides(container.build())
                    .build(),
            )
            .set_tags(Some(tags(spec)));
        let what = format!("RunTask {} ({})", spec.item_id, spec.role.name());
        let capacity_wait = s.capacity_wait();
        let first = tokio::time::Instant::now();
        let mut pause = CAPACITY_BACKOFF.first;
        let mut attempts = 0u32;
        let out = loop {
            attempts += 1;
            self.pace_run_task().await;
            // A fresh token per attempt; the SDK's retries inside `send` reuse it.
            let token = client_token(spec, rand::random());
            let mut in_flight = CutShort {
                flag: &self.launch_cut_short,
                answered: false,
            };
            let sent = request.clone().client_token(token).send().await;
            in_flight.answered = true;
            let out = sent.map_err(|e| aws_err(&what, e))?;
            let Some(f) = out.failures().first() else {
                break out;
            };
            let reason = format!(
                "{} {}",
                f.reason().unwrap_or("unknown reason"),
                f.detail().unwrap_or("")
            );
            let reason = reason.trim();
            // The account's vCPU quota frees as other tasks of the run end: wait for them
            // as for capacity, but only while some are alive (ours alone cannot free any).
            let quota = is_vcpu_quota_failure(reason);
            let others_alive = quota && self.others_alive(&spec.item_id);
            if (is_capacity_failure(reason) || others_alive)
                && first.elapsed() + pause <= capacity_wait
            {
                eprintln!(
                    "  {what}: {reason}; retrying in {:.0} s (attempt {attempts})",
                    pause.as_secs_f64()
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(CAPACITY_BACKOFF.max);
                continue;
            }
            // Other failures, and capacity that did not come back, fail this item; the run
            // goes on.
            let tried = if attempts > 1 {
                format!(
                    " (after {attempts} attempts over {:.0} s; --capacity-wait sets how long)",
                    first.elapsed().as_secs_f64()
                )
            } else {
                String::new()
            };
            let quota_hint = if quota {
                " (the account's Fargate vCPU quota, \"Fargate On-Demand vCPU resource count\" \
                 (Service Quotas code L-3032A538) or \"Fargate Spot vCPU resource count\": ask \
                 for more in Service Quotas, or lower --concurrency; the estimate says how many \
                 vCPUs the run holds at once)"
            } else {
                ""
            };
            return Err(err(format!("{what} failed: {reason}{quota_hint}{tried}")));
        };
        let launched = out.tasks().first();
        let arn = launched
            .and_then(|t| t.task_arn())
            .ok_or_else(|| err(format!("RunTask {} returned no task", spec.item_id)))?
            .to_owned();
        let created_ms = launched
            .and_then(|t| t.created_at())
            .and_then(|c| c.to_millis().ok());
        let id = TaskId(arn.clone());
        self.tasks.lock().expect("tasks lock").insert(
            id.clone(),
            EcsTask {
                arn,
                role: spec.role,
                item: spec.item_id.clone(),
                zone: None,
                created_ms,
                started: None,
                ended: false,
                launched: tokio::time::Instant::now(),
            },
        );
        Ok(id)
    }

    /// The server's address once its task is RUNNING with a private IP. Its log is not read
    /// for the ready line, as the other backends do: CloudWatch Logs shows a line only after the
    /// awslogs driver's next 5 s batch, and polling each waiting server's log would pass the
    /// account's GetLogEvents quota at a concurrency of about 8 (2026-12 ECS review, N1). A
    /// RUNNING task's container has started; the server listens within milliseconds of that,
    /// and the client retries its connect for netprobe's connect budget (15 s) to cover them.
    async fn address(&self, task: &TaskId, deadline: Duration) -> Result<String> {
        let t = self.arn_of(task)?;
        let last_status = std::sync::Mutex::new(String::new());
        let ready = poll::until(deadline, ECS_POLL, || async {
            let described = self.describe(&t.arn).await?;
            if let Some(d) = &described {
                self.observe(task, d);
            }
            let status = described
                .as_ref()
                .and_then(|d| d.last_status())
                .unwrap_or("UNKNOWN")
                .to_owned();
            {
                let mut last = last_status.lock().expect("status lock");
                if status != *last {
                    eprintln!(
                        "  server task {} is {status}",
                        log_stream(&t.arn).rsplit('/').next().unwrap_or("")
                    );
                    last.clone_from(&status);
                }
            }
            match status.as_str() {
                "RUNNING" => {
                    if let Some(ip) = described.as_ref().and_then(private_ip) {
                        return Ok(Some(format!("{ip}:{SERVER_PORT}")));
                    }
                }
                "STOPPED" | "DEPROVISIONING" | "STOPPING" => {
                    let reason = described
                        .as_ref()
                        .and_then(|d| d.stopped_reason())
                        .unwrap_or("no reason given");
                    return Err(err(format!(
                        "server task {} stopped before running: {reason}",
                        t.arn
                    )));
                }
                _ => {}
            }
            Ok(None)
        })
        .await?;
        if let Some(addr) = ready {
            return Ok(addr);
        }
        let _ = self.stop(task).await;
        let status = last_status.into_inner().expect("status lock");
        Err(err(format!(
            "server task {} was not running within {deadline:?} (last status {status}); stopped it",
            t.arn
        )))
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        let t = self.arn_of(task)?;
        // The deadline is the test's: it starts when the container runs, not while Fargate
        // provisions, pulls and attaches the ENI (allowed START_BUDGET on top). For a task
        // that was already running when the wait began (a server whose client has finished),
        // it counts from now: counting from its start would find it expired at once (2026-12
        // ECS review, N9).
        let called = tokio::time::Instant::now();
        let outcome = poll::until(START_BUDGET + deadline, ECS_POLL, || async {
            if let Some(d) = self.describe(&t.arn).await? {
                self.observe(task, &d);
                if d.last_status() == Some("STOPPED") {
                    return Ok(Some(Ok(stopped_exit(&d))));
                }
            }
            match self.arn_of(task)?.started {
                Some(started) if started.max(called).elapsed() >= deadline => Ok(Some(Err(()))),
                _ => Ok(None),
            }
        })
        .await?;
        if let Some(Ok(exit)) = outcome {
            return Ok(exit);
        }
        let ran = self.arn_of(task)?.started.is_some();
        let _ = self.stop(task).await;
        Err(err(if ran {
            format!(
                "{} task {} ran past its deadline of {deadline:?} from its start (or from when \
                 the wait began, for a task already running) and was stopped",
                t.role.name(),
                t.arn
            )
        } else {
            format!(
                "{} task {} did not start within {START_BUDGET:?} (provisioning or image pull) \
                 and was stopped",
                t.role.name(),
                t.arn
            )
        }))
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        let t = self.arn_of(task)?;
        let has_result = |lines: &[String]| {
            lines
                .iter()
                .any(|l| l.contains(probe_core::result_line::MARKER))
        };
        // A task that never ran has nothing on its way: one answered read says all.
        let never_ran = t.started.is_none();
        // CloudWatch Logs is eventually consistent: read again until the result line shows up.
        let mut settle = Settle::new(LOG_SETTLE, LOG_GIVE_UP);
        let mut pause = LOG_REREAD.first;
        loop {
            let (lines, end) = self.read_log(&t.arn).await?;
            settle.read(end);
            let answered = end != ReadEnd::Throttled && end != ReadEnd::MorePages;
            if has_result(&lines) || (never_ran && answered) || settle.done() {
                return Ok(lines);
            }
            if end != ReadEnd::MorePages {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LOG_REREAD.max);
            }
        }
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        let t = self.arn_of(task)?;
        if t.ended {
            return Ok(());
        }
        loop {
            let result = self
                .ecs
                .stop_task()
                .cluster(&self.settings.cluster)
                .task(&t.arn)
                .reason("stopped by fargate-bench")
                .send()
                .await;
            match result {
                Ok(_) => break,
                // "The referenced task was not found": gone, unless the task is so young that
                // ECS may not show it yet (eventually consistent right after RunTask).
                Err(e) if e.code() == Some("InvalidParameterException") => {
                    if t.launched.elapsed() >= FRESH_TASK {
                        break;
                    }
                    tokio::time::sleep(STOP_RETRY).await;
                }
                Err(e) => return Err(aws_err("StopTask", e)),
            }
        }
        if let Some(me) = self.tasks.lock().expect("tasks lock").get_mut(task) {
            me.ended = true;
        }
        Ok(())
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        // First every task this process launched and has not seen end: it holds their ARNs,
        // so neither a failing nor a lagging ListTasks can hide one.
        let held: Vec<(TaskId, String)> = self
            .tasks
            .lock()
            .expect("tasks lock")
            .iter()
            .filter(|(_, t)| !t.ended)
            .map(|(id, t)| (id.clone(), t.arn.clone()))
            .collect();
        let mut stopped = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for (id, arn) in held {
            match self.stop(&id).await {
                Ok(()) => stopped.push(arn),
                Err(e) => failed.push(format!("{arn} ({})", crate::error::describe(&e))),
            }
        }
        // Then what ListTasks knows (tasks of an earlier process, for `cleanup`). A RunTask
        // that Ctrl-C cut short may have started a task whose ARN never came back, and
        // ListTasks may not show it yet (the API is eventually consistent right after RunTask):
        // the run's tasks are then listed once more after SWEEP_AGAIN.
        let mut listing_error = None;
        let sweeps = if self.launch_cut_short.load(Ordering::SeqCst) {
            2
        } else {
            1
        };
        for sweep in 0..sweeps {
            if sweep > 0 {
                tokio::time::sleep(SWEEP_AGAIN).await;
            }
            match self.list_run_tasks(run_id).await {
                Ok(arns) => {
                    let fresh: Vec<String> =
                        arns.into_iter().filter(|a| !stopped.contains(a)).collect();
                    for arn in fresh {
                        let result = self
                            .ecs
                            .stop_task()
                            .cluster(&self.settings.cluster)
                            .task(&arn)
                            .reason("fargate-bench cleanup")
                            .send()
                            .await;
                        match result {
                            Ok(_) => stopped.push(arn),
                            Err(e) if e.code() == Some("InvalidParameterException") => {}
                            Err(e) => {
                                let e = aws_err("StopTask", e);
                                failed.push(format!("{arn} ({})", crate::error::describe(&e)));
                            }
                        }
                    }
                }
                Err(e) => listing_error = Some(crate::error::describe(&e)),
            }
        }
        if failed.is_empty() && listing_error.is_none() {
            return Ok(stopped);
        }
        let mut why = format!("stopped {} task(s)", stopped.len());
        if !failed.is_empty() {
            why.push_str(&format!(
                "; could not stop {}: {} (stop them in the ECS console or with \
                 `fargate-bench cleanup --backend ecs`)",
                failed.len(),
                failed.join(", ")
            ));
        }
        if let Some(e) = listing_error {
            why.push_str(&format!(
                "; could not list the run's other tasks: {e} (the tasks this process launched \
                 were stopped; run `fargate-bench cleanup --backend ecs` to sweep again)"
            ));
        }
        Err(err(why))
    }

    fn emulated(&self, _size: TaskSize, _arch: Option<Arch>) -> Vec<String> {
        Vec::new()
    }

    async fn prepare_run(&self, _run_id: &str) -> Result<()> {
        self.check_log_group().await?;
        self.check_capacity_provider().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Probe;

    #[test]
    fn throttling_codes_are_recognised() {
        assert!(is_throttling("ThrottlingException"));
        assert!(is_throttling("TooManyRequestsException"));
        assert!(!is_throttling("AccessDeniedException"));
    }

    #[test]
    fn client_tokens_are_short_and_plain() {
        let spec = TaskSpec {
            run_id: "20261124-abcd".into(),
            item_id: "12/16x120/tcp-stream P4 reverse".into(),
            role: TaskRole::Server,
            probe: Probe::Netprobe,
            args: vec![],
            env: vec![],
            size: TaskSize::parse("16x120").unwrap(),
            arch: None,
        };
        let t = client_token(&spec, 7);
        assert!(
            t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{t}"
        );
        // Issue 11, defect 1: the run id is kept whole, and each attempt differs.
        assert!(t.starts_with("20261124-abcd-s-"), "{t}");
        assert!(t.ends_with("0000000000000007"), "{t}");
        assert_ne!(client_token(&spec, 8), t);
        let other_item = TaskSpec {
            item_id: "12/16x120/tcp-rr".into(),
            ..spec.clone()
        };
        assert_ne!(client_token(&other_item, 7), t);
        let long_run = TaskSpec {
            run_id: "r".repeat(100),
            ..spec.clone()
        };
        assert!(client_token(&long_run, u64::MAX).len() <= 64);
    }

    #[test]
    fn an_image_of_the_wrong_architecture_is_named_with_its_fix() {
        let pulled = with_arch_hint(
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): \
             no matching manifest for linux/arm64/v8 in the manifest list entries",
        );
        assert!(pulled.contains("push-images.sh --arch both"), "{pulled}");
        assert!(with_arch_hint("exec /netprobe: exec format error").contains("--architecture"));
        assert_eq!(with_arch_hint("OutOfMemoryError"), "OutOfMemoryError");
    }

    #[test]
    fn a_server_outwaits_its_clients_capacity_retries_and_start() {
        let defaults = EcsSettings::default();
        assert_eq!(
            server_idle_timeout(&defaults),
            Duration::from_secs(600 + 600 + 60),
            "--capacity-wait 600 s, then up to 600 s to start, and a minute"
        );
        let short = EcsSettings {
            capacity_wait_secs: Some(30),
            ..Default::default()
        };
        assert_eq!(server_idle_timeout(&short), Duration::from_secs(690));
        // The old allowance (the ready timeout, 300 s) was shorter than the client's retries.
        assert!(server_idle_timeout(&short) > SERVER_READY_TIMEOUT);
    }

    #[test]
    fn the_vcpu_quota_is_told_from_capacity() {
        let quota = "You've reached the limit on the number of vCPUs you can run concurrently";
        assert!(is_vcpu_quota_failure(quota));
        assert!(!is_capacity_failure(quota));
        assert!(!is_vcpu_quota_failure(
            "Capacity is unavailable at this time. Please try again later"
        ));
    }

    #[test]
    fn capacity_failures_are_told_apart() {
        assert!(is_capacity_failure(
            "Capacity is unavailable at this time. Please try again later or in a different availability zone"
        ));
        assert!(!is_capacity_failure("RESOURCE:MEMORY"));
        assert!(!is_capacity_failure("AGENT"));
    }

    #[test]
    fn the_preview_hides_secrets_and_tags_the_run() {
        let settings = EcsSettings {
            netprobe_image: "img".into(),
            ..Default::default()
        };
        let spec = TaskSpec {
            run_id: "r1".into(),
            item_id: "1/1x2/tcp-rr".into(),
            role: TaskRole::Client,
            probe: Probe::Netprobe,
            args: vec!["client".into()],
            env: vec![("NETPROBE_PSK".into(), "secret".into())],
            size: TaskSize::parse("1x2").unwrap(),
            arch: None,
        };
        let (plan, preview) = EcsPlatform::preview(&settings, "us-east-1", &spec);
        assert_eq!(plan.family, "fargate-bench-netprobe-1024-2048");
        assert_eq!(plan.cpu_architecture, "X86_64", "the settings' default");
        let arm = TaskSpec {
            arch: Some(Arch::Arm),
            ..spec.clone()
        };
        let (arm_plan, _) = EcsPlatform::preview(&settings, "us-east-1", &arm);
        assert_eq!(arm_plan.family, "fargate-bench-netprobe-arm64-1024-2048");
        assert_eq!(arm_plan.cpu_architecture, "ARM64");
        let json = serde_json::to_string(&preview).unwrap();
        assert!(!json.contains("secret") && json.contains("NETPROBE_PSK"));
        assert!(json.contains(RUN_TAG) && json.contains("r1"));
        assert_eq!(preview.command, ["client"]);
    }
}
