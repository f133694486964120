//! RunTask: the request (command and environment overrides, one subnet, tags, `startedBy`, a
//! fresh client token per attempt), paced under RunTask's rate, and retried while Fargate is
//! out of capacity, or while the account's vCPU quota is full and other tasks of the run may
//! free some.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_ecs::operation::run_task::RunTaskInput;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    KeyValuePair, LaunchType, NetworkConfiguration, Tag, TaskOverride,
};

use super::api::EcsApi;
use super::logs::LogSource;
use super::tags::{started_by, tag_value};
use super::taskdef::CONTAINER;
use super::{err, EcsPlatform, EcsTask, ITEM_TAG, ROLE_TAG, RUN_TAG};
use crate::error::Result;
use crate::platform::lifecycle::EcsTimestamps;
use crate::platform::poll::Backoff;
use crate::platform::{TaskId, TaskSpec};

/// How long a task may take to reach RUNNING (provisioning, ENI, image pull) before its own
/// deadline starts: Fargate's start is not the test's time.
pub(super) const START_BUDGET: Duration = Duration::from_secs(600);

/// RunTask retries while capacity is unavailable: 2 s, doubling to 60 s.
pub(super) const CAPACITY_BACKOFF: Backoff =
    Backoff::exponential(Duration::from_secs(2), Duration::from_secs(60));

/// RunTask is limited to 20 calls per second per account: keep under it.
pub(super) const RUN_TASK_SPACING: Duration = Duration::from_millis(60);

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

pub(super) fn command(spec: &TaskSpec) -> Vec<String> {
    spec.args.clone()
}

pub(super) fn tags(spec: &TaskSpec) -> Vec<Tag> {
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
pub(super) fn client_token(spec: &TaskSpec, nonce: u64) -> String {
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
pub(super) fn is_capacity_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("capacity is unavailable") || r.contains("insufficient capacity")
}

/// Whether a RunTask failure is the account's Fargate vCPU quota ("You've reached the limit on
/// the number of vCPUs you can run concurrently"), which frees as tasks end.
pub(super) fn is_vcpu_quota_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("limit on the number of vcpus") || r.contains("vcpu limit")
}

/// What the account's vCPU quota failure adds to its message: which quota, and what to do.
pub(super) const VCPU_QUOTA_HINT: &str =
    " (the account's Fargate vCPU quota, \"Fargate On-Demand vCPU resource count\" \
     (Service Quotas code L-3032A538) or \"Fargate Spot vCPU resource count\": ask for more \
     in Service Quotas, or lower --concurrency; the estimate says how many vCPUs the run holds \
     at once)";

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// The RunTask request for `spec` on `task_definition` (the client token is set per
    /// attempt).
    fn run_task_input(&self, spec: &TaskSpec, task_definition: &str) -> Result<RunTaskInput> {
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
        let mut request = RunTaskInput::builder()
            .cluster(&s.cluster)
            .task_definition(task_definition);
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
        request
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
            .set_tags(Some(tags(spec)))
            .build()
            .map_err(|e| err(e.to_string()))
    }

    /// Launches `spec`'s task, retrying RunTask while capacity is short (and while the vCPU
    /// quota is full with other tasks of the run alive) up to the settings' capacity wait.
    pub(super) async fn launch_task(&self, spec: &TaskSpec) -> Result<TaskId> {
        let requested = tokio::time::Instant::now();
        let arch = spec.arch.unwrap_or(self.settings.arch());
        let task_definition = self.task_definition(spec.probe, spec.size, arch).await?;
        let request = self.run_task_input(spec, &task_definition)?;
        let what = format!("RunTask {} ({})", spec.item_id, spec.role.name());
        let capacity_wait = self.settings.capacity_wait();
        let first = tokio::time::Instant::now();
        let mut pause = CAPACITY_BACKOFF.first;
        let mut attempts = 0u32;
        let out = loop {
            attempts += 1;
            self.pace_run_task().await;
            // A fresh token per attempt; the SDK's retries inside the call reuse it.
            let mut attempt = request.clone();
            attempt.client_token = Some(client_token(spec, rand::random()));
            let mut in_flight = CutShort {
                flag: &self.launch_cut_short,
                answered: false,
            };
            let sent = self.ecs.run_task(&attempt).await;
            in_flight.answered = true;
            let out = sent.map_err(|f| f.into_error(&what))?;
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
            let quota_hint = if quota { VCPU_QUOTA_HINT } else { "" };
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
        let timestamps = EcsTimestamps {
            created_at: created_ms,
            ..EcsTimestamps::default()
        };
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
                requested,
                timestamps,
                platform_version: None,
            },
        );
        Ok(id)
    }

    /// Keeps RunTask under its documented rate (20 calls per second per account).
    async fn pace_run_task(&self) {
        let mut last = self.last_run_task.lock().await;
        let wait =
            (*last + RUN_TASK_SPACING).saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(wait).await;
        *last = tokio::time::Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Probe, TaskRole};
    use crate::sizes::TaskSize;

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
}
