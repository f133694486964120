//! What DescribeTasks says about the run's tasks: one shared call for every waiter, each
//! answer recorded (start, end, zone, lifecycle timestamps), the server's address once it
//! runs, and a task's end with its exit code and reason.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::types::Task;

use super::api::EcsApi;
use super::launch::START_BUDGET;
use super::logs::LogSource;
use super::taskdef::{log_stream, CONTAINER, SERVER_PORT};
use super::{err, EcsPlatform, EcsTask};
use crate::error::Result;
use crate::platform::lifecycle::{EcsTimestamps, Lifecycle};
use crate::platform::poll::{self, Backoff};
use crate::platform::{TaskExit, TaskId};

/// How often a waiting task looks at its state. The answers come from one shared DescribeTasks
/// call for every task of the run (up to 100 per call), at most once per [`DESCRIBE_EVERY`],
/// so the API rate stays flat however many pairs run at once.
pub(super) const ECS_POLL: Backoff = Backoff::fixed(Duration::from_millis(500));

/// The shared DescribeTasks call is made at most this often.
pub(super) const DESCRIBE_EVERY: Duration = Duration::from_secs(1);

/// The last shared DescribeTasks answer.
#[derive(Debug, Default)]
pub(super) struct Described {
    at: Option<tokio::time::Instant>,
    tasks: HashMap<String, Task>,
}

/// The service's lifecycle timestamps of a described task.
fn timestamps(d: &Task) -> EcsTimestamps {
    let ms = |t: Option<&aws_sdk_ecs::primitives::DateTime>| t.and_then(|t| t.to_millis().ok());
    EcsTimestamps {
        created_at: ms(d.created_at()),
        pull_started_at: ms(d.pull_started_at()),
        pull_stopped_at: ms(d.pull_stopped_at()),
        started_at: ms(d.started_at()),
    }
}

/// How a STOPPED task ended, from its DescribeTasks answer.
pub(super) fn stopped_exit(d: &Task) -> TaskExit {
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
    // Fargate reclaimed Spot capacity: the task got SIGTERM and two minutes, and its stop code
    // says so (Task, stopCode: SpotInterruption). Say it whatever the reason's words.
    let spot = d.stop_code().map(|c| c.as_str()) == Some("SpotInterruption");
    let reason = match reason {
        Some(r) if spot && !r.contains("SpotInterruption") => {
            Some(format!("{r} (stopCode SpotInterruption: {SPOT_HINT})"))
        }
        None if spot => Some(format!("stopCode SpotInterruption: {SPOT_HINT}")),
        r => r,
    };
    TaskExit {
        code,
        reason: reason.map(|r| with_arch_hint(&r)),
        lifecycle: None,
        platform_version: d.platform_version().map(str::to_owned),
    }
}

/// What to do about a Spot interruption.
const SPOT_HINT: &str = "Fargate reclaimed the Spot capacity; `fargate-bench run --resume DIR` \
     runs the item again, or run on demand with capacity_provider = \"FARGATE\"";

/// A stop reason that says the image is of another architecture gets the fix appended:
/// Fargate reports "no matching manifest for linux/arm64" when a pull finds no entry for the
/// task's `runtimePlatform`, and a task started from a foreign binary exits with
/// "exec format error".
pub(super) fn with_arch_hint(reason: &str) -> String {
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

fn private_ip(task: &Task) -> Option<String> {
    task.attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .map(str::to_owned)
}

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// The task's latest state. Every task of the run that has not ended is described in one
    /// call (batches of 100, the API's maximum) at most once per [`DESCRIBE_EVERY`];
    /// concurrent waiters share the answer. A task RunTask has just created may be missing
    /// from the answer for a moment (ECS is eventually consistent): `None` then, and the
    /// waiter asks again.
    pub(super) async fn describe(&self, arn: &str) -> Result<Option<Task>> {
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
                let tasks = self
                    .ecs
                    .describe_tasks(&self.settings.cluster, chunk, false)
                    .await
                    .map_err(|f| f.into_error("DescribeTasks"))?;
                for t in tasks {
                    if let Some(a) = t.task_arn() {
                        cache.tasks.insert(a.to_owned(), t.clone());
                    }
                }
            }
            cache.at = Some(tokio::time::Instant::now());
        }
        Ok(cache.tasks.get(arn).cloned())
    }

    /// Records what a DescribeTasks answer says about one of our tasks: when it started, its
    /// lifecycle timestamps, whether it ended, and its zone (warning when a client runs in
    /// another zone than its server: one subnet should make that impossible, and cross-AZ
    /// figures are not comparable).
    pub(super) fn observe(&self, task: &TaskId, described: &Task) {
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
        let seen = timestamps(described);
        let t = &mut me.timestamps;
        t.created_at = seen.created_at.or(t.created_at);
        t.pull_started_at = seen.pull_started_at.or(t.pull_started_at);
        t.pull_stopped_at = seen.pull_stopped_at.or(t.pull_stopped_at);
        t.started_at = seen.started_at.or(t.started_at);
        if status == "STOPPED" {
            me.ended = true;
        }
        if let Some(v) = described.platform_version() {
            me.platform_version = Some(v.to_owned());
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

    /// How the task came up, as far as it was seen.
    fn lifecycle(t: &EcsTask) -> Lifecycle {
        Lifecycle::ecs(
            t.launched.saturating_duration_since(t.requested),
            t.timestamps,
            t.started.map(|s| s.saturating_duration_since(t.requested)),
        )
    }

    /// The server's address once its task is RUNNING with a private IP. Its log is not read
    /// for the ready line, as the other backends do: CloudWatch Logs shows a line only after
    /// the awslogs driver's next 5 s batch, and polling each waiting server's log would pass
    /// the account's GetLogEvents quota at a concurrency of about 8 (2026-12 ECS review, N1). A
    /// RUNNING task's container has started; the server listens within milliseconds of that,
    /// and the client retries its connect for netprobe's connect budget (15 s) to cover them.
    pub(super) async fn running_address(
        &self,
        task: &TaskId,
        deadline: Duration,
    ) -> Result<String> {
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
        let _ = self.stop_task(task).await;
        let status = last_status.into_inner().expect("status lock");
        Err(err(format!(
            "server task {} was not running within {deadline:?} (last status {status}); stopped it",
            t.arn
        )))
    }

    /// Waits for the task to be STOPPED and says how it ended, with its lifecycle.
    pub(super) async fn wait_stopped(&self, task: &TaskId, deadline: Duration) -> Result<TaskExit> {
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
        if let Some(Ok(mut exit)) = outcome {
            let seen = self.arn_of(task)?;
            exit.lifecycle = Some(Self::lifecycle(&seen));
            exit.platform_version = exit.platform_version.or(seen.platform_version);
            return Ok(exit);
        }
        let ran = self.arn_of(task)?.started.is_some();
        let _ = self.stop_task(task).await;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
