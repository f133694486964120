//! A scripted ECS and CloudWatch Logs behind the platform's seam ([`EcsApi`], [`LogSource`]),
//! on tokio's clock: tasks go through Fargate's lifecycle (PROVISIONING, PENDING with its image
//! pull, RUNNING, STOPPED) with the delays a test sets, their containers "print" the result
//! line their probe would, and the faults AWS has are there on request: capacity and vCPU-quota
//! failures in RunTask's `failures`, a fresh ARN missing from DescribeTasks and StopTask for a
//! moment, Spot interruption, GetLogEvents throttling and empty pages with a moving token, and
//! throttling that outlasts the SDK's retries (the error the SDK returns once its retry budget
//! is spent). Every call is recorded with its time.
//!
//! Wall-clock timestamps (`createdAt`, `startedAt`...) are an epoch plus tokio's elapsed time,
//! so paused-time tests know them exactly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::run_task::{RunTaskInput, RunTaskOutput};
use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::{
    Attachment, Cluster, Compatibility, Container, ContainerDefinition, CpuArchitecture, Failure,
    KeyValuePair, NetworkMode, RuntimePlatform, Tag, Task, TaskDefinition, TaskDefinitionStatus,
    TaskStopCode,
};
use tokio::time::Instant;

mod logs;

use super::api::{ApiFailure, EcsApi, ListFilter};
use super::taskdef::{TaskDefPlan, CONTAINER};
use super::{ITEM_TAG, ROLE_TAG, RUN_TAG};
use crate::platform::{Probe, TaskRole, TaskSpec};
use crate::sizes::TaskSize;

/// The wall-clock time tokio's clock starts at in the fake (2027-01-15T08:00:00Z).
pub(super) const EPOCH_MS: i64 = 1_800_000_000_000;

/// Fargate's lifecycle delays and what a task's container does.
#[derive(Debug, Clone, Copy)]
pub(super) struct Delays {
    /// PROVISIONING (ENI attached).
    pub(super) provisioning: Duration,
    /// PENDING (the image pull, then the container starts).
    pub(super) pending: Duration,
    /// Of PENDING, how long before the pull starts and how long it takes.
    pub(super) pull_after: Duration,
    /// How long the pull takes.
    pub(super) pull: Duration,
    /// How long the container runs before it exits by itself.
    pub(super) runs_for: Duration,
    /// How long after a line is printed CloudWatch Logs shows it (awslogs' 5 s batches).
    pub(super) log_delay: Duration,
}

impl Default for Delays {
    fn default() -> Self {
        Delays {
            provisioning: Duration::from_secs(3),
            pending: Duration::from_secs(7),
            pull_after: Duration::from_secs(1),
            pull: Duration::from_secs(4),
            runs_for: Duration::from_secs(20),
            log_delay: Duration::from_secs(5),
        }
    }
}

/// One task the fake ECS holds.
#[derive(Debug, Clone)]
pub(super) struct FakeTask {
    arn: String,
    started_by: Option<String>,
    tags: Vec<(String, String)>,
    vcpus: f64,
    created: Instant,
    /// StopTask (or a Spot interruption) ended it then.
    stopped: Option<(Instant, Stop)>,
    /// Its container's lines.
    lines: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    ByUser,
    Spot,
}

/// What the fake is told to do, and what it saw.
#[derive(Debug, Default)]
pub(super) struct World {
    pub(super) delays: Delays,
    /// RunTask calls answered with a capacity failure, from the first.
    pub(super) capacity_failures: u32,
    /// The account's Fargate vCPU quota: RunTask fails in `failures` when the tasks not yet
    /// stopped and the new one would hold more.
    pub(super) vcpu_quota: Option<f64>,
    /// Calls of an operation (`RunTask`, `DescribeTasks`, `GetLogEvents`...) that fail with
    /// this error, from the first: what the SDK returns once its retries are spent.
    pub(super) failing: HashMap<&'static str, (u32, ApiFailure)>,
    /// A task is missing from DescribeTasks, and StopTask does not find it, this long after
    /// RunTask created it (eventual consistency).
    pub(super) invisible_for: Duration,
    /// Tasks of this role are interrupted (Spot) this long after they run.
    pub(super) spot_interrupt: Option<(TaskRole, Duration)>,
    /// GetLogEvents calls answered with ThrottlingException, from the first.
    pub(super) logs_throttled: u32,
    /// Empty pages (with a moving token) each stream answers before its events.
    pub(super) empty_pages: u32,
    /// Capacity providers associated with the cluster.
    pub(super) providers: Vec<String>,
    /// ListTasks page size.
    pub(super) list_page: usize,
    /// Every task RunTask created (and [`Fake::seed`] put there).
    pub(super) tasks: Vec<FakeTask>,
    /// Registered task definitions by family.
    pub(super) definitions: HashMap<String, TaskDefinition>,
    /// Empty pages each stream has answered.
    pub(super) empty_answered: HashMap<String, u32>,
    /// Every call, with when it was made.
    pub(super) calls: Vec<(String, Duration)>,
    /// Every RunTask client token.
    pub(super) tokens: Vec<String>,
}

/// The fake ECS and Logs share one world.
#[derive(Debug, Clone)]
pub(super) struct Fake {
    world: Arc<Mutex<World>>,
    start: Instant,
}

fn failure(code: &str, message: &str) -> ApiFailure {
    ApiFailure {
        code: Some(code.to_owned()),
        message: Some(message.to_owned()),
        detail: format!("service error: {code}: {message}"),
    }
}

/// What the SDK returns once sustained throttling has spent its retry budget.
pub(super) fn throttled() -> ApiFailure {
    failure("ThrottlingException", "Rate exceeded")
}

impl Fake {
    pub(super) fn new(world: World) -> Self {
        let world = World {
            list_page: if world.list_page == 0 {
                2
            } else {
                world.list_page
            },
            ..world
        };
        Fake {
            world: Arc::new(Mutex::new(world)),
            start: Instant::now(),
        }
    }

    /// Changes the world mid-test.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.lock().expect("world lock"))
    }

    /// The wall clock of the fake now, as AWS writes it.
    pub(super) fn wall(&self, at: Instant) -> DateTime {
        DateTime::from_millis(EPOCH_MS + at.duration_since(self.start).as_millis() as i64)
    }

    /// How many calls of `op` were made.
    pub(super) fn count(&self, op: &str) -> usize {
        self.with(|w| w.calls.iter().filter(|(o, _)| o == op).count())
    }

    /// Times of the calls of `op`, from the start.
    pub(super) fn times(&self, op: &str) -> Vec<Duration> {
        self.with(|w| {
            w.calls
                .iter()
                .filter(|(o, _)| o == op)
                .map(|(_, t)| *t)
                .collect()
        })
    }

    /// Tasks not stopped now.
    pub(super) fn alive(&self) -> usize {
        let now = Instant::now();
        self.with(|w| {
            let d = w.delays;
            w.tasks
                .iter()
                .filter(|t| Self::status(d, t, now).0 != "STOPPED")
                .count()
        })
    }

    /// Seeds a task another process launched for `run_id` (for `cleanup`).
    pub(super) fn seed(&self, run_id: &str, n: usize) {
        self.with(|w| {
            for _ in 0..n {
                let arn = Self::next_arn(w);
                w.tasks.push(FakeTask {
                    arn,
                    started_by: Some(super::tags::started_by(run_id)),
                    tags: vec![(RUN_TAG.to_owned(), super::tags::tag_value(run_id))],
                    vcpus: 1.0,
                    created: Instant::now(),
                    stopped: None,
                    lines: Vec::new(),
                });
            }
        });
    }

    /// Records a call, and answers with its scripted failure, if any.
    fn call(&self, op: &'static str) -> Result<(), ApiFailure> {
        let elapsed = self.start.elapsed();
        self.with(|w| {
            w.calls.push((op.to_owned(), elapsed));
            match w.failing.get_mut(op) {
                Some((n, f)) if *n > 0 => {
                    *n -= 1;
                    Err(f.clone())
                }
                _ => Ok(()),
            }
        })
    }

    fn next_arn(w: &World) -> String {
        format!(
            "arn:aws:ecs:us-east-1:123456789012:task/bench/{:032x}",
            w.tasks.len() + 1
        )
    }

    /// A task's status at `now`, when its container runs (if it does) and how it stopped.
    fn status(d: Delays, t: &FakeTask, now: Instant) -> (&'static str, Option<Stop>) {
        let age = now.duration_since(t.created);
        let running_at = d.provisioning + d.pending;
        if let Some((at, how)) = t.stopped {
            if now >= at {
                return ("STOPPED", Some(how));
            }
        }
        if age < d.provisioning {
            ("PROVISIONING", None)
        } else if age < running_at {
            ("PENDING", None)
        } else if age < running_at + d.runs_for {
            ("RUNNING", None)
        } else {
            ("STOPPED", None)
        }
    }

    /// The task as DescribeTasks shows it at `now`.
    fn shape(&self, d: Delays, t: &FakeTask, now: Instant) -> Task {
        let (status, stop) = Self::status(d, t, now);
        let running = t.created + d.provisioning + d.pending;
        let pull_started = t.created + d.provisioning + d.pull_after;
        let ended = t.stopped.map(|(at, _)| at).unwrap_or(running + d.runs_for);
        let mut task = Task::builder()
            .task_arn(&t.arn)
            .last_status(status)
            .created_at(self.wall(t.created))
            .availability_zone("us-east-1a")
            .platform_version("1.4.0")
            .set_started_by(t.started_by.clone())
            .set_tags(Some(
                t.tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ));
        if status != "PROVISIONING" {
            let n = t.arn.len() % 200;
            task = task.attachments(
                Attachment::builder()
                    .r#type("ElasticNetworkInterface")
                    .details(
                        KeyValuePair::builder()
                            .name("privateIPv4Address")
                            .value(format!("10.0.0.{n}"))
                            .build(),
                    )
                    .build(),
            );
        }
        if now >= pull_started && ended >= pull_started {
            task = task.pull_started_at(self.wall(pull_started));
            let pulled = pull_started + d.pull;
            if now >= pulled && ended >= pulled {
                task = task.pull_stopped_at(self.wall(pulled));
            }
        }
        if now >= running && ended >= running {
            task = task.started_at(self.wall(running));
        }
        let mut container = Container::builder().name(CONTAINER);
        if status == "STOPPED" {
            match stop {
                Some(Stop::Spot) => {
                    task = task
                        .stop_code(TaskStopCode::SpotInterruption)
                        .stopped_reason("Your Spot Task was interrupted.");
                    container = container.exit_code(143);
                }
                Some(Stop::ByUser) => {
                    task = task
                        .stop_code(TaskStopCode::UserInitiated)
                        .stopped_reason("stopped by fargate-bench");
                    container = container.exit_code(143);
                }
                None => {
                    task = task
                        .stop_code(TaskStopCode::EssentialContainerExited)
                        .stopped_reason("Essential container in task exited");
                    container = container.exit_code(0);
                }
            }
        }
        task.containers(container.build()).build()
    }

    fn visible(&self, w: &World, t: &FakeTask, now: Instant) -> bool {
        now.duration_since(t.created) >= w.invisible_for
    }
}

/// What RegisterTaskDefinition stores for `plan` with its one `container`, as
/// DescribeTaskDefinition returns it.
pub(super) fn registered(plan: &TaskDefPlan, container: ContainerDefinition) -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn(format!(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/{}:1",
            plan.family
        ))
        .family(&plan.family)
        .status(TaskDefinitionStatus::Active)
        .cpu(&plan.cpu)
        .memory(&plan.memory)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .execution_role_arn(&plan.execution_role_arn)
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::from(plan.cpu_architecture.as_str()))
                .build(),
        )
        .container_definitions(container)
        .build()
}

/// The probe and size of a registered family (`fargate-bench-netprobe-1024-2048`).
fn family_parts(task_definition: &str) -> (Probe, f64) {
    let family = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition)
        .split(':')
        .next()
        .unwrap_or_default();
    let probe = if family.contains("memprobe") {
        Probe::Memprobe
    } else {
        Probe::Netprobe
    };
    let cpu: f64 = family
        .rsplit('-')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(1024.0);
    (probe, cpu / 1024.0)
}

impl EcsApi for Fake {
    async fn run_task(&self, input: &RunTaskInput) -> Result<RunTaskOutput, ApiFailure> {
        self.call("RunTask")?;
        let now = Instant::now();
        let (probe, vcpus) = family_parts(input.task_definition().unwrap_or_default());
        let tags: Vec<(String, String)> = input
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let mut w = self.world.lock().expect("world lock");
        w.tokens
            .push(input.client_token().unwrap_or_default().to_owned());
        let d = w.delays;
        let held: f64 = w
            .tasks
            .iter()
            .filter(|t| Self::status(d, t, now).0 != "STOPPED")
            .map(|t| t.vcpus)
            .sum();
        let refuse = |reason: &str| {
            Ok(RunTaskOutput::builder()
                .failures(
                    Failure::builder()
                        .arn("arn:aws:ecs:us-east-1:123456789012:container-instance/none")
                        .reason(reason)
                        .build(),
                )
                .build())
        };
        if w.vcpu_quota.is_some_and(|q| held + vcpus > q) {
            return refuse(
                "You've reached the limit on the number of vCPUs you can run concurrently",
            );
        }
        if w.capacity_failures > 0 {
            w.capacity_failures -= 1;
            return refuse(
                "Capacity is unavailable at this time. Please try again later or in a \
                 different availability zone",
            );
        }
        let arn = Self::next_arn(&w);
        let role = tags
            .iter()
            .find(|(k, _)| k == ROLE_TAG)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let role = match role.as_str() {
            "server" => TaskRole::Server,
            "client" => TaskRole::Client,
            _ => TaskRole::Memory,
        };
        let run_id = tags
            .iter()
            .find(|(k, _)| k == RUN_TAG)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let spec = TaskSpec {
            run_id,
            item_id: tags
                .iter()
                .find(|(k, _)| k == ITEM_TAG)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            role,
            probe,
            args: Vec::new(),
            env: Vec::new(),
            size: TaskSize::parse("1x2").expect("a size"),
            arch: None,
        };
        let mut task = FakeTask {
            arn,
            started_by: input.started_by().map(str::to_owned),
            tags,
            vcpus,
            created: now,
            stopped: None,
            lines: vec![
                format!("{} starting", probe.binary()),
                crate::platform::fake::result_line_for(&spec),
            ],
        };
        if let Some((r, after)) = w.spot_interrupt {
            if r == role {
                let at = now + d.provisioning + d.pending + after;
                task.stopped = Some((at, Stop::Spot));
            }
        }
        let shown = self.shape(d, &task, now);
        w.tasks.push(task);
        Ok(RunTaskOutput::builder().tasks(shown).build())
    }

    async fn describe_tasks(
        &self,
        _cluster: &str,
        arns: &[String],
        _with_tags: bool,
    ) -> Result<Vec<Task>, ApiFailure> {
        self.call("DescribeTasks")?;
        assert!(
            (1..=100).contains(&arns.len()),
            "DescribeTasks takes 1-100 tasks, not {}",
            arns.len()
        );
        let now = Instant::now();
        let w = self.world.lock().expect("world lock");
        Ok(w.tasks
            .iter()
            .filter(|t| arns.contains(&t.arn) && self.visible(&w, t, now))
            .map(|t| self.shape(w.delays, t, now))
            .collect())
    }

    async fn stop_task(&self, _cluster: &str, task: &str, _reason: &str) -> Result<(), ApiFailure> {
        self.call("StopTask")?;
        let now = Instant::now();
        let mut w = self.world.lock().expect("world lock");
        let invisible_for = w.invisible_for;
        let d = w.delays;
        let Some(t) = w
            .tasks
            .iter_mut()
            .find(|t| t.arn == task && now.duration_since(t.created) >= invisible_for)
        else {
            return Err(failure(
                "InvalidParameterException",
                "The referenced task was not found.",
            ));
        };
        if Self::status(d, t, now).0 != "STOPPED" {
            t.stopped = Some((now, Stop::ByUser));
        }
        Ok(())
    }

    async fn list_tasks(
        &self,
        _cluster: &str,
        filter: &ListFilter,
        next_token: Option<&str>,
    ) -> Result<ListTasksOutput, ApiFailure> {
        self.call("ListTasks")?;
        let now = Instant::now();
        let w = self.world.lock().expect("world lock");
        let all: Vec<String> = w
            .tasks
            .iter()
            .filter(|t| match filter {
                ListFilter::StartedBy(by) => t.started_by.as_deref() == Some(by.as_str()),
                ListFilter::Running => Self::status(w.delays, t, now).0 != "STOPPED",
            })
            .map(|t| t.arn.clone())
            .collect();
        let from: usize = next_token.map_or(0, |t| t.parse().expect("our own token"));
        let to = (from + w.list_page).min(all.len());
        Ok(ListTasksOutput::builder()
            .set_task_arns(Some(all[from..to].to_vec()))
            .set_next_token((to < all.len()).then(|| to.to_string()))
            .build())
    }

    async fn describe_clusters(&self, cluster: &str) -> Result<DescribeClustersOutput, ApiFailure> {
        self.call("DescribeClusters")?;
        let providers = self.with(|w| w.providers.clone());
        Ok(DescribeClustersOutput::builder()
            .clusters(
                Cluster::builder()
                    .cluster_name(cluster)
                    .status("ACTIVE")
                    .set_capacity_providers(Some(providers))
                    .build(),
            )
            .build())
    }

    async fn describe_task_definition(
        &self,
        family: &str,
    ) -> Result<DescribeTaskDefinitionOutput, ApiFailure> {
        self.call("DescribeTaskDefinition")?;
        match self.with(|w| w.definitions.get(family).cloned()) {
            Some(td) => Ok(DescribeTaskDefinitionOutput::builder()
                .task_definition(td)
                .build()),
            None => Err(failure(
                "ClientException",
                "Unable to describe task definition.",
            )),
        }
    }

    async fn register_task_definition(
        &self,
        plan: &TaskDefPlan,
        container: ContainerDefinition,
    ) -> Result<RegisterTaskDefinitionOutput, ApiFailure> {
        self.call("RegisterTaskDefinition")?;
        let td = registered(plan, container);
        self.with(|w| w.definitions.insert(plan.family.clone(), td.clone()));
        Ok(RegisterTaskDefinitionOutput::builder()
            .task_definition(td)
            .build())
    }
}
