//! The seam between the ECS backend's logic and AWS: every ECS call the platform makes, as one
//! small trait ([`EcsApi`]). [`SdkEcs`] makes them through the AWS SDK (which has already
//! retried throttling and transient errors by the time an answer or a failure comes back); the
//! tests' fake answers from a script on tokio's paused clock, so launch, capacity retries,
//! addresses, waits, output and cleanup are tested without a network (style guide, 14).
//!
//! Requests and answers are the SDK's own types, so the logic above reads exactly what AWS
//! sends; failures are reduced to [`ApiFailure`], what the logic decides on (the code) and what
//! the user reads (the whole error).

use std::future::Future;

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::run_task::{RunTaskInput, RunTaskOutput};
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, DesiredStatus, NetworkMode, OsFamily,
    RuntimePlatform, Tag, Task, TaskField,
};

use super::sdk::is_throttling;
use super::taskdef::TaskDefPlan;
use crate::error::BenchError;

/// A failed ECS call, after the SDK's own retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// AWS's error code (`ThrottlingException`, `InvalidParameterException`...), when the
    /// service answered.
    pub code: Option<String>,
    /// AWS's message.
    pub message: Option<String>,
    /// The whole error with the SDK's context, for the user.
    pub detail: String,
}

impl ApiFailure {
    /// An SDK error reduced to its code, message and full text.
    pub fn from_sdk<E>(e: aws_sdk_ecs::error::SdkError<E>) -> Self
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        ApiFailure {
            code: e.code().map(str::to_owned),
            message: e.message().map(str::to_owned),
            detail: DisplayErrorContext(&e).to_string(),
        }
    }

    /// The error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The failure of `call` as one error that names the call, AWS's own code and, for
    /// throttling the SDK's retries did not outlast, what to change.
    pub fn into_error(self, call: &str) -> BenchError {
        let code = self
            .code
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        let hint = if self.code.as_deref().is_some_and(is_throttling) {
            "; AWS kept throttling after retries: lower --concurrency or run fewer sizes at once"
        } else {
            ""
        };
        BenchError::Backend {
            backend: "ecs",
            what: format!("{call}{code}{hint}"),
            source: Some(self.detail.into()),
        }
    }
}

/// Which tasks ListTasks lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListFilter {
    /// Tasks started by this `startedBy` (ListTasks takes it only as its sole filter).
    StartedBy(String),
    /// Tasks whose desired status is RUNNING.
    Running,
}

/// The ECS calls the platform makes. Each answer is the SDK's; each failure is what remains
/// after the SDK's retries.
pub trait EcsApi: Send + Sync {
    /// RunTask.
    fn run_task(
        &self,
        input: &RunTaskInput,
    ) -> impl Future<Output = Result<RunTaskOutput, ApiFailure>> + Send;

    /// DescribeTasks of at most 100 `arns`, with their tags when `with_tags`.
    fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
        with_tags: bool,
    ) -> impl Future<Output = Result<Vec<Task>, ApiFailure>> + Send;

    /// StopTask.
    fn stop_task(
        &self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), ApiFailure>> + Send;

    /// One page of ListTasks.
    fn list_tasks(
        &self,
        cluster: &str,
        filter: &ListFilter,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<ListTasksOutput, ApiFailure>> + Send;

    /// DescribeClusters of one cluster.
    fn describe_clusters(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<DescribeClustersOutput, ApiFailure>> + Send;

    /// DescribeTaskDefinition of a family (its latest ACTIVE revision).
    fn describe_task_definition(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<DescribeTaskDefinitionOutput, ApiFailure>> + Send;

    /// RegisterTaskDefinition of `plan` with its one container.
    fn register_task_definition(
        &self,
        plan: &TaskDefPlan,
        container: ContainerDefinition,
    ) -> impl Future<Output = Result<RegisterTaskDefinitionOutput, ApiFailure>> + Send;
}

/// ECS through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkEcs {
    /// The SDK's ECS client (`iam_policy.rs` reads the calls made on it from this source).
    pub ecs: aws_sdk_ecs::Client,
}

impl EcsApi for SdkEcs {
    async fn run_task(&self, input: &RunTaskInput) -> Result<RunTaskOutput, ApiFailure> {
        let i = input.clone();
        self.ecs
            .run_task()
            .set_cluster(i.cluster)
            .set_task_definition(i.task_definition)
            .set_capacity_provider_strategy(i.capacity_provider_strategy)
            .set_launch_type(i.launch_type)
            .set_platform_version(i.platform_version)
            .set_count(i.count)
            .set_started_by(i.started_by)
            .set_network_configuration(i.network_configuration)
            .set_overrides(i.overrides)
            .set_tags(i.tags)
            .set_client_token(i.client_token)
            .send()
            .await
            .map_err(ApiFailure::from_sdk)
    }

    async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
        with_tags: bool,
    ) -> Result<Vec<Task>, ApiFailure> {
        let mut request = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.to_vec()));
        if with_tags {
            request = request.include(TaskField::Tags);
        }
        let out = request.send().await.map_err(ApiFailure::from_sdk)?;
        Ok(out.tasks().to_vec())
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> Result<(), ApiFailure> {
        self.ecs
            .stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .map(|_| ())
            .map_err(ApiFailure::from_sdk)
    }

    async fn list_tasks(
        &self,
        cluster: &str,
        filter: &ListFilter,
        next_token: Option<&str>,
    ) -> Result<ListTasksOutput, ApiFailure> {
        let request = self
            .ecs
            .list_tasks()
            .cluster(cluster)
            .set_next_token(next_token.map(str::to_owned));
        let request = match filter {
            ListFilter::StartedBy(by) => request.started_by(by),
            ListFilter::Running => request.desired_status(DesiredStatus::Running),
        };
        request.send().await.map_err(ApiFailure::from_sdk)
    }

    async fn describe_clusters(&self, cluster: &str) -> Result<DescribeClustersOutput, ApiFailure> {
        self.ecs
            .describe_clusters()
            .clusters(cluster)
            .send()
            .await
            .map_err(ApiFailure::from_sdk)
    }

    async fn describe_task_definition(
        &self,
        family: &str,
    ) -> Result<DescribeTaskDefinitionOutput, ApiFailure> {
        self.ecs
            .describe_task_definition()
            .task_definition(family)
            .send()
            .await
            .map_err(ApiFailure::from_sdk)
    }

    async fn register_task_definition(
        &self,
        plan: &TaskDefPlan,
        container: ContainerDefinition,
    ) -> Result<RegisterTaskDefinitionOutput, ApiFailure> {
        self.ecs
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
            .container_definitions(container)
            .tags(Tag::builder().key("fargate-bench").value("probe").build())
            .send()
            .await
            .map_err(ApiFailure::from_sdk)
    }
}
