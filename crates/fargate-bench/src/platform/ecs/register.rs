//! Task definitions: one per probe and size, reused while an active revision matches every
//! field we set, registered otherwise.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, LogConfiguration, LogDriver, NetworkMode, TaskDefinition,
    TaskDefinitionStatus, Ulimit, UlimitName,
};

use super::api::EcsApi;
use super::logs::LogSource;
use super::taskdef::{TaskDefPlan, CONTAINER};
use super::{err, EcsPlatform};
use crate::error::Result;
use crate::platform::Probe;
use crate::sizes::{Arch, TaskSize};

/// The one container of every task definition of ours.
fn container_definition(plan: &TaskDefPlan) -> Result<ContainerDefinition> {
    let mut log = LogConfiguration::builder().log_driver(LogDriver::Awslogs);
    for (k, v) in plan.log_options() {
        log = log.options(k, v);
    }
    let memory: i32 = plan
        .memory
        .parse()
        .map_err(|_| err(format!("bad memory {}", plan.memory)))?;
    Ok(ContainerDefinition::builder()
        .name(CONTAINER)
        .image(&plan.image)
        .essential(true)
        // moto (and older agents) want a container memory setting; Fargate accepts the task's.
        .memory(memory)
        .log_configuration(log.build().map_err(|e| err(e.to_string()))?)
        .ulimits(
            Ulimit::builder()
                .name(UlimitName::Nofile)
                .soft_limit(65_536)
                .hard_limit(65_536)
                .build()
                .map_err(|e| err(e.to_string()))?,
        )
        .build())
}

/// Whether an existing revision is what we would register: every field we set, the log
/// group and region included (a revision logging elsewhere would leave us reading an empty
/// group until the deadline).
fn same_definition(existing: &TaskDefinition, plan: &TaskDefPlan) -> bool {
    let Some(container) = existing.container_definitions().first() else {
        return false;
    };
    let log = container.log_configuration();
    let options = log.and_then(|l| l.options());
    let same_log = log.map(|l| l.log_driver()) == Some(&LogDriver::Awslogs)
        && options.is_some_and(|o| {
            o.len() == plan.log_options().len()
                && plan
                    .log_options()
                    .iter()
                    .all(|(k, v)| o.get(*k).map(String::as_str) == Some(v.as_str()))
        });
    let nofile = container
        .ulimits()
        .iter()
        .any(|u| u.name() == &UlimitName::Nofile && u.soft_limit() == 65_536);
    existing.status() == Some(&TaskDefinitionStatus::Active)
        && existing.cpu() == Some(plan.cpu.as_str())
        && existing.memory() == Some(plan.memory.as_str())
        && existing.network_mode() == Some(&NetworkMode::Awsvpc)
        && existing
            .requires_compatibilities()
            .contains(&Compatibility::Fargate)
        && existing.execution_role_arn() == Some(plan.execution_role_arn.as_str())
        && existing.container_definitions().len() == 1
        && container.name() == Some(CONTAINER)
        && container.image() == Some(plan.image.as_str())
        && same_log
        && nofile
        && existing
            .runtime_platform()
            .and_then(|r| r.cpu_architecture())
            .map(|a| a.as_str())
            .unwrap_or("X86_64")
            == plan.cpu_architecture
}

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// The ARN of an active, identical revision, registering one if needed. Each family is
    /// resolved once per run behind its own cell: concurrent launches of one family wait for
    /// the one lookup, launches of other families do not wait at all.
    pub(super) async fn task_definition(
        &self,
        probe: Probe,
        size: TaskSize,
        arch: Arch,
    ) -> Result<String> {
        let plan = TaskDefPlan::new(&self.settings, &self.region, probe, size, arch);
        let cell = self
            .taskdefs
            .lock()
            .expect("taskdefs lock")
            .entry(plan.family.clone())
            .or_default()
            .clone();
        // A failed lookup leaves the cell empty: the next launch of the family tries again.
        cell.get_or_try_init(|| self.find_or_register(&plan))
            .await
            .cloned()
    }

    async fn find_or_register(&self, plan: &TaskDefPlan) -> Result<String> {
        match self.ecs.describe_task_definition(&plan.family).await {
            Ok(existing) => {
                if let Some(td) = existing.task_definition() {
                    if same_definition(td, plan) {
                        return Ok(td.task_definition_arn().unwrap_or_default().to_owned());
                    }
                }
            }
            // The family has no active revision: AWS answers ClientException "Unable to
            // describe task definition." (DescribeTaskDefinition). Register one.
            Err(f) if is_missing_definition(f.code()) => {}
            // Anything else (throttling the SDK's retries did not outlast, access denied, a
            // server error) is not a reason to register a needless revision: say it.
            Err(f) => return Err(f.into_error(&format!("DescribeTaskDefinition {}", plan.family))),
        }
        let registered = self
            .ecs
            .register_task_definition(plan, container_definition(plan)?)
            .await
            .map_err(|f| f.into_error(&format!("RegisterTaskDefinition {}", plan.family)))?;
        let arn = registered
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .ok_or_else(|| {
                err(format!(
                    "RegisterTaskDefinition {} returned no ARN",
                    plan.family
                ))
            })?
            .to_owned();
        eprintln!("registered task definition {arn}");
        Ok(arn)
    }
}

/// Whether a DescribeTaskDefinition error code means the family has no (active) revision.
fn is_missing_definition(code: Option<&str>) -> bool {
    code == Some("ClientException")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ecs::settings::EcsSettings;

    fn plan(log_group: &str) -> TaskDefPlan {
        let settings = EcsSettings {
            netprobe_image: "123.dkr.ecr.us-east-1.amazonaws.com/netprobe:1".into(),
            execution_role_arn: "arn:aws:iam::123:role/exec".into(),
            log_group: log_group.into(),
            cpu_architecture: "X86_64".into(),
            ..Default::default()
        };
        TaskDefPlan::new(
            &settings,
            "us-east-1",
            Probe::Netprobe,
            TaskSize::parse("1x2").unwrap(),
            Arch::X86,
        )
    }

    /// What RegisterTaskDefinition would store for `plan`, as DescribeTaskDefinition returns it.
    fn registered(plan: &TaskDefPlan) -> TaskDefinition {
        super::super::fake::registered(plan, container_definition(plan).unwrap())
    }

    /// Issue 11, defect 7: a revision that logs to another group (or differs in any field we
    /// set) is not reused.
    #[test]
    fn reuse_needs_every_field_we_set_the_log_group_included() {
        let ours = plan("/fargate-bench");
        assert!(same_definition(&registered(&ours), &ours));
        let elsewhere = plan("/other-group");
        assert!(!same_definition(&registered(&elsewhere), &ours));
        let mut other_image = ours.clone();
        other_image.image.push_str("-new");
        assert!(!same_definition(&registered(&other_image), &ours));
        let mut arm = ours.clone();
        arm.cpu_architecture = "ARM64".into();
        assert!(!same_definition(&registered(&ours), &arm));
        let mut inactive = registered(&ours);
        inactive.status = Some(TaskDefinitionStatus::Inactive);
        assert!(!same_definition(&inactive, &ours));
    }

    /// Issue 23, item 8 (N18): only "no such family" leads to a registration; throttling that
    /// outlasted the SDK's retries, a denied call or a server error is reported instead.
    #[test]
    fn only_a_missing_family_is_registered_anew() {
        assert!(is_missing_definition(Some("ClientException")));
        for other in [
            Some("ThrottlingException"),
            Some("AccessDeniedException"),
            Some("ServerException"),
            None,
        ] {
            assert!(!is_missing_definition(other), "{other:?}");
        }
    }
}
