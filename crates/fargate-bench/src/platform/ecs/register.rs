//! Task definitions: one per probe and size, reused while an active revision matches every
//! field we set, registered otherwise.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, LogConfiguration, LogDriver, NetworkMode,
    OsFamily, RuntimePlatform, Tag, TaskDefinition, TaskDefinitionStatus, Ulimit, UlimitName,
};

use super::taskdef::{TaskDefPlan, CONTAINER};
use super::{aws_err, err, EcsPlatform};
use crate::error::Result;
use crate::platform::Probe;
use crate::sizes::TaskSize;

impl EcsPlatform {
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

    /// Whether an existing revision is what we would register.
    fn same_definition(existing: &TaskDefinition, plan: &TaskDefPlan) -> bool {
        let container = existing.container_definitions().first();
        existing.status() == Some(&TaskDefinitionStatus::Active)
            && existing.cpu() == Some(plan.cpu.as_str())
            && existing.memory() == Some(plan.memory.as_str())
            && existing.execution_role_arn() == Some(plan.execution_role_arn.as_str())
            && container.and_then(|c| c.image()) == Some(plan.image.as_str())
            && container
                .and_then(|c| c.log_configuration())
                .map(|l| {
                    l.options().and_then(|o| o.get("mode")).map(String::as_str) == Some("blocking")
                })
                .unwrap_or(false)
            && existing
                .runtime_platform()
                .and_then(|r| r.cpu_architecture())
                .map(|a| a.as_str() == plan.cpu_architecture)
                .unwrap_or(true)
    }

    /// The ARN of an active, identical revision, registering one if needed.
    pub(super) async fn task_definition(&self, probe: Probe, size: TaskSize) -> Result<String> {
        let plan = TaskDefPlan::new(&self.settings, &self.region, probe, size);
        let mut cache = self.taskdefs.lock().await;
        if let Some(arn) = cache.get(&plan.family) {
            return Ok(arn.clone());
        }
        if let Ok(existing) = self
            .ecs
            .describe_task_definition()
            .task_definition(&plan.family)
            .send()
            .await
        {
            if let Some(td) = existing.task_definition() {
                if Self::same_definition(td, &plan) {
                    let arn = td.task_definition_arn().unwrap_or_default().to_owned();
                    cache.insert(plan.family.clone(), arn.clone());
                    return Ok(arn);
                }
            }
        }
        let registered = self
            .ecs
            .register_task_definition()
            .family(&plan.family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(&plan.cpu)
            .memory(&plan.memory)
            .execution_role_arn(&plan.execution_role_arn)
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::from(plan.cpu_architecture.as_str()))
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .container_definitions(Self::container_definition(&plan)?)
            .tags(Tag::builder().key("fargate-bench").value("probe").build())
            .send()
            .await
            .map_err(|e| aws_err(&format!("RegisterTaskDefinition {}", plan.family), e))?;
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
        cache.insert(plan.family, arn.clone());
        Ok(arn)
    }
}
