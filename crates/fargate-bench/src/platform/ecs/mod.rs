//! The ECS Fargate backend: one task definition per probe and size (reused when identical),
//! RunTask with command and environment overrides in one subnet, the server's private IP from
//! its ENI attachment, results from CloudWatch Logs, every task tagged with the run id and
//! stopped on exit, error and Ctrl-C.

mod logs;
mod register;
mod sdk;
pub mod settings;
pub mod taskdef;

use sdk::{aws_err, err};
pub use sdk::{is_throttling, sdk_config};

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    DesiredStatus, KeyValuePair, NetworkConfiguration, Tag, TaskField, TaskOverride,
};
use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;

use self::settings::EcsSettings;
use self::taskdef::{log_stream, TaskDefPlan, CONTAINER, SERVER_PORT};
use super::poll::{self, Backoff};
use super::{Platform, TaskExit, TaskId, TaskRole, TaskSpec};
use crate::error::Result;
use crate::sizes::TaskSize;
use probe_core::contract;

/// Tag keys on every task.
pub const RUN_TAG: &str = "fargate-bench:run";
const ROLE_TAG: &str = "fargate-bench:role";
const ITEM_TAG: &str = "fargate-bench:item";

/// DescribeTasks while a task starts or runs: 0.5 s, doubling to 5 s.
const ECS_POLL: Backoff = Backoff::exponential(Duration::from_millis(500), Duration::from_secs(5));

/// How long CloudWatch Logs is given to show a finished task's result line.
const LOG_SETTLE: Duration = Duration::from_secs(30);

/// RunTask is limited to 20 calls per second per account: keep under it.
const RUN_TASK_SPACING: Duration = Duration::from_millis(60);

#[derive(Debug, Clone)]
struct EcsTask {
    arn: String,
    role: TaskRole,
    item: String,
    zone: Option<String>,
}

/// ECS Fargate through the AWS SDK.
#[derive(Debug)]
pub struct EcsPlatform {
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    settings: EcsSettings,
    region: String,
    taskdefs: AsyncMutex<HashMap<String, String>>,
    tasks: std::sync::Mutex<HashMap<TaskId, EcsTask>>,
    last_run_task: AsyncMutex<tokio::time::Instant>,
    next: std::sync::atomic::AtomicU64,
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
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            settings,
            region,
            taskdefs: AsyncMutex::new(HashMap::new()),
            tasks: std::sync::Mutex::new(HashMap::new()),
            last_run_task: AsyncMutex::new(tokio::time::Instant::now() - RUN_TASK_SPACING),
            next: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// What a run would register and launch, without calling AWS.
    pub fn preview(
        settings: &EcsSettings,
        region: &str,
        spec: &TaskSpec,
    ) -> (TaskDefPlan, RunTaskPreview) {
        let plan = TaskDefPlan::new(settings, region, spec.probe, spec.size);
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
            started_by: spec.run_id.clone(),
        };
        (plan, preview)
    }

    async fn describe(&self, arn: &str) -> Result<Option<aws_sdk_ecs::types::Task>> {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(&self.settings.cluster)
            .tasks(arn)
            .send()
            .await
            .map_err(|e| aws_err("DescribeTasks", e))?;
        Ok(out.tasks().first().cloned())
    }

    /// Records a task's availability zone and warns when a client runs in another zone than its
    /// server: one subnet should make that impossible, and cross-AZ figures are not comparable.
    fn note_zone(&self, task: &TaskId, described: &aws_sdk_ecs::types::Task) {
        let Some(zone) = described.availability_zone() else {
            return;
        };
        let mut tasks = self.tasks.lock().expect("tasks lock");
        let Some(me) = tasks.get_mut(task) else {
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
                "warning: {item}: client and server run in different availability zones ({zone} and {other});                  use a single subnet so latency and throughput are not cross-AZ"
            );
        }
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

fn command(spec: &TaskSpec) -> Vec<String> {
    spec.args.clone()
}

fn tags(spec: &TaskSpec) -> Vec<Tag> {
    vec![
        Tag::builder().key(RUN_TAG).value(&spec.run_id).build(),
        Tag::builder().key(ROLE_TAG).value(spec.role.name()).build(),
        Tag::builder().key(ITEM_TAG).value(&spec.item_id).build(),
    ]
}

/// A client token: the same launch retried is the same task (at most 64 ASCII characters).
fn client_token(spec: &TaskSpec, n: u64) -> String {
    let raw = format!("{}-{}-{}-{n}", spec.run_id, spec.role.name(), spec.item_id);
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    clean
        .chars()
        .rev()
        .take(64)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
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

    async fn launch(&self, spec: &TaskSpec) -> Result<TaskId> {
        let task_definition = self.task_definition(spec.probe, spec.size).await?;
        {
            let mut last = self.last_run_task.lock().await;
            let wait =
                (*last + RUN_TASK_SPACING).saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(wait).await;
            *last = tokio::time::Instant::now();
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = &self.settings;
        let vpc = AwsVpcConfiguration::builder()
            .subnets(&s.subnet)
            .set_security_groups(Some(s.security_groups.clone()))
            .assign_public_ip(if s.assign_public_ip {
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
        let capacity = CapacityProviderStrategyItem::builder()
            .capacity_provider(&s.capacity_provider)
            .weight(1)
            .build()
            .map_err(|e| err(e.to_string()))?;
        let out = self
            .ecs
            .run_task()
            .cluster(&s.cluster)
            .task_definition(&task_definition)
            .capacity_provider_strategy(capacity)
            .count(1)
            .started_by(&spec.run_id)
            .client_token(client_token(spec, n))
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
            .set_tags(Some(tags(spec)))
            .send()
            .await
            .map_err(|e| {
                aws_err(
                    &format!("RunTask {} ({})", spec.item_id, spec.role.name()),
                    e,
                )
            })?;
        if let Some(f) = out.failures().first() {
            // Capacity and quota failures fail this item; the run goes on.
            return Err(err(format!(
                "RunTask {} ({}) failed: {} {}",
                spec.item_id,
                spec.role.name(),
                f.reason().unwrap_or("unknown reason"),
                f.detail().unwrap_or("")
            )));
        }
        let arn = out
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .ok_or_else(|| err(format!("RunTask {} returned no task", spec.item_id)))?
            .to_owned();
        let id = TaskId(arn.clone());
        self.tasks.lock().expect("tasks lock").insert(
            id.clone(),
            EcsTask {
                arn,
                role: spec.role,
                item: spec.item_id.clone(),
                zone: None,
            },
        );
        Ok(id)
    }

    async fn address(&self, task: &TaskId, deadline: Duration) -> Result<String> {
        let t = self.arn_of(task)?;
        let last_status = std::sync::Mutex::new(String::new());
        let ready = poll::until(deadline, ECS_POLL, || async {
            let described = self.describe(&t.arn).await?;
            if let Some(d) = &described {
                self.note_zone(task, d);
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
                    // The same readiness rule as every backend: the server said it listens.
                    if let Some(ip) = described.as_ref().and_then(private_ip) {
                        let lines = self.read_log(&t.arn).await?;
                        if lines.iter().any(|l| contract::is_server_ready_line(l)) {
                            return Ok(Some(format!("{ip}:{SERVER_PORT}")));
                        }
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
            "server task {} was not listening within {deadline:?} (last status {status}); stopped it",
            t.arn
        )))
    }

    async fn wait(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
        let t = self.arn_of(task)?;
        let exit = poll::until(deadline, ECS_POLL, || async {
            if let Some(d) = self.describe(&t.arn).await? {
                self.note_zone(task, &d);
                if d.last_status() == Some("STOPPED") {
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
                    return Ok(Some(TaskExit { code, reason }));
                }
            }
            Ok(None)
        })
        .await?;
        if let Some(exit) = exit {
            return Ok(exit);
        }
        let _ = self.stop(task).await;
        Err(err(format!(
            "{} task {} ran past its deadline of {deadline:?} and was stopped",
            t.role.name(),
            t.arn
        )))
    }

    async fn output(&self, task: &TaskId) -> Result<Vec<String>> {
        let t = self.arn_of(task)?;
        // CloudWatch Logs is eventually consistent: retry until the result line shows up.
        let last = std::sync::Mutex::new(Vec::new());
        let done = poll::until(
            LOG_SETTLE,
            Backoff::fixed(Duration::from_secs(1)),
            || async {
                let lines = self.read_log(&t.arn).await?;
                if lines
                    .iter()
                    .any(|l| l.contains(probe_core::result_line::MARKER))
                {
                    return Ok(Some(lines));
                }
                *last.lock().expect("lines lock") = lines;
                Ok(None)
            },
        )
        .await?;
        Ok(done.unwrap_or_else(|| last.into_inner().expect("lines lock")))
    }

    async fn stop(&self, task: &TaskId) -> Result<()> {
        let t = self.arn_of(task)?;
        let result = self
            .ecs
            .stop_task()
            .cluster(&self.settings.cluster)
            .task(&t.arn)
            .reason("stopped by fargate-bench")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("InvalidParameterException") => Ok(()), // already gone
            Err(e) => Err(aws_err("StopTask", e)),
        }
    }

    async fn stop_run(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let mut req = self
                .ecs
                .list_tasks()
                .cluster(&self.settings.cluster)
                .desired_status(DesiredStatus::Running)
                .set_next_token(token.clone());
            if let Some(r) = run_id {
                req = req.started_by(r);
            }
            let out = req.send().await.map_err(|e| aws_err("ListTasks", e))?;
            arns.extend(out.task_arns().iter().cloned());
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let mut stopped = Vec::new();
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
                    tag.key() == Some(RUN_TAG) && run_id.is_none_or(|r| tag.value() == Some(r))
                });
                if !ours {
                    continue;
                }
                let arn = t.task_arn().unwrap_or_default().to_owned();
                self.ecs
                    .stop_task()
                    .cluster(&self.settings.cluster)
                    .task(&arn)
                    .reason("fargate-bench cleanup")
                    .send()
                    .await
                    .map_err(|e| aws_err("StopTask", e))?;
                stopped.push(arn);
            }
        }
        Ok(stopped)
    }

    fn emulated(&self, _size: TaskSize) -> Vec<String> {
        Vec::new()
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
        };
        let t = client_token(&spec, 7);
        assert!(
            t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{t}"
        );
        assert!(t.ends_with("-7"));
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
        };
        let (plan, preview) = EcsPlatform::preview(&settings, "us-east-1", &spec);
        assert_eq!(plan.family, "fargate-bench-netprobe-1024-2048");
        let json = serde_json::to_string(&preview).unwrap();
        assert!(!json.contains("secret") && json.contains("NETPROBE_PSK"));
        assert!(json.contains(RUN_TAG) && json.contains("r1"));
        assert_eq!(preview.command, ["client"]);
    }
}
