//! Stopping tasks: one by one as items end, and every task of a run on error, Ctrl-C and
//! `cleanup`, held ARNs first, then what ListTasks finds.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::api::{EcsApi, ListFilter};
use super::logs::LogSource;
use super::tags::{started_by, tag_value};
use super::{err, EcsPlatform, RUN_TAG};
use crate::error::Result;
use crate::platform::TaskId;

/// A task younger than this that StopTask does not find may just not be visible yet (ECS is
/// eventually consistent right after RunTask): StopTask is retried every [`STOP_RETRY`] until
/// the task is this old, and only then is "not found" taken as gone.
pub(super) const FRESH_TASK: Duration = Duration::from_secs(30);
pub(super) const STOP_RETRY: Duration = Duration::from_secs(2);

/// After a RunTask cut short by Ctrl-C, the run's tasks are listed again this much later: its
/// task may exist without this process knowing its ARN, and ListTasks may lag behind RunTask.
pub(super) const SWEEP_AGAIN: Duration = Duration::from_secs(5);

/// StopTask's answer for a task it does not know ("The referenced task was not found").
const NOT_FOUND_CODE: &str = "InvalidParameterException";

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// Stops one task (no error when it already ended, or is gone).
    pub(super) async fn stop_task(&self, task: &TaskId) -> Result<()> {
        let t = self.arn_of(task)?;
        if t.ended {
            return Ok(());
        }
        loop {
            let result = self
                .ecs
                .stop_task(&self.settings.cluster, &t.arn, "stopped by fargate-bench")
                .await;
            match result {
                Ok(()) => break,
                // "The referenced task was not found": gone, unless the task is so young that
                // ECS may not show it yet (eventually consistent right after RunTask).
                Err(f) if f.code() == Some(NOT_FOUND_CODE) => {
                    if t.launched.elapsed() >= FRESH_TASK {
                        break;
                    }
                    tokio::time::sleep(STOP_RETRY).await;
                }
                Err(f) => return Err(f.into_error("StopTask")),
            }
        }
        if let Some(me) = self.tasks.lock().expect("tasks lock").get_mut(task) {
            me.ended = true;
        }
        Ok(())
    }

    /// Stops and lists every task of `run_id` (every fargate-bench task when `None`).
    pub(super) async fn stop_run_tasks(&self, run_id: Option<&str>) -> Result<Vec<String>> {
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
            match self.stop_task(&id).await {
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
                            .stop_task(&self.settings.cluster, &arn, "fargate-bench cleanup")
                            .await;
                        match result {
                            Ok(()) => stopped.push(arn),
                            Err(f) if f.code() == Some(NOT_FOUND_CODE) => {}
                            Err(f) => {
                                let e = f.into_error("StopTask");
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

    /// Every task of `run_id` (every fargate-bench task when `None`) not yet STOPPED. ListTasks
    /// takes `startedBy` only as its sole filter (ListTasks in the API reference), so a run's
    /// tasks are listed by `startedBy` alone and their status read from DescribeTasks; without a
    /// run, RUNNING tasks are listed and kept when they carry our run tag.
    async fn list_run_tasks(&self, run_id: Option<&str>) -> Result<Vec<String>> {
        let filter = match run_id {
            Some(r) => ListFilter::StartedBy(started_by(r)),
            None => ListFilter::Running,
        };
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ecs
                .list_tasks(&self.settings.cluster, &filter, token.as_deref())
                .await
                .map_err(|f| f.into_error("ListTasks"))?;
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
                .describe_tasks(&self.settings.cluster, chunk, true)
                .await
                .map_err(|f| f.into_error("DescribeTasks"))?;
            for t in &described {
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
}
