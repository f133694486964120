//! ECS task metadata (endpoint v4), so a report says which task, size and AZ produced it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// Environment variable ECS sets in every container of a task (agent 1.39+, every Fargate PV).
pub const METADATA_ENV: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// What the task metadata endpoint says about the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EcsTaskFacts {
    /// Task ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<String>,
    /// Cluster name or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Task definition family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// `FARGATE` or `EC2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// Task CPU limit in vCPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_cpu_vcpus: Option<f64>,
    /// Task memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_memory_bytes: Option<u64>,
    /// Fargate platform version, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTask {
    #[serde(rename = "TaskARN")]
    task_arn: Option<String>,
    cluster: Option<String>,
    family: Option<String>,
    revision: Option<String>,
    availability_zone: Option<String>,
    launch_type: Option<String>,
    limits: Option<RawLimits>,
    platform_version: Option<String>,
}

#[derive(Deserialize)]
struct RawLimits {
    #[serde(rename = "CPU")]
    cpu: Option<f64>,
    /// MiB.
    #[serde(rename = "Memory")]
    memory: Option<f64>,
}

/// Parses the JSON of `${ECS_CONTAINER_METADATA_URI_V4}/task`.
///
/// # Errors
/// [`CoreError::MalformedResultLine`] is not used here; a body that is not the expected JSON is
/// reported as [`CoreError::ReadHostFile`] with the endpoint as path.
pub fn parse_task_metadata(json: &str) -> Result<EcsTaskFacts> {
    let raw: RawTask = serde_json::from_str(json).map_err(|e| CoreError::ReadHostFile {
        path: "ECS task metadata".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    let limits = raw.limits;
    Ok(EcsTaskFacts {
        task_arn: raw.task_arn,
        cluster: raw.cluster,
        family: raw.family,
        revision: raw.revision,
        availability_zone: raw.availability_zone,
        launch_type: raw.launch_type,
        task_cpu_vcpus: limits
            .as_ref()
            .and_then(|l| l.cpu)
            .filter(|c| c.is_finite() && *c > 0.0),
        task_memory_bytes: limits
            .and_then(|l| l.memory)
            .filter(|m| m.is_finite() && *m > 0.0)
            .map(|mib| (mib * 1024.0 * 1024.0) as u64),
        platform_version: raw.platform_version,
    })
}

/// Fetches and parses `{base_uri}/task` with a 2 s overall timeout.
///
/// # Errors
/// [`CoreError::ReadHostFile`] when the endpoint is unreachable or answers garbage.
pub fn fetch_task_metadata(base_uri: &str) -> Result<EcsTaskFacts> {
    let url = format!("{}/task", base_uri.trim_end_matches('/'));
    let io_error = |e: String| CoreError::ReadHostFile {
        path: url.clone().into(),
        source: std::io::Error::other(e),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let body = agent
        .get(&url)
        .call()
        .map_err(|e| io_error(e.to_string()))?
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .map_err(|e| io_error(e.to_string()))?;
    parse_task_metadata(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fargate_task_metadata_fixture() {
        let json = include_str!("../../tests/fixtures/ecs-task-metadata.json");
        let facts = parse_task_metadata(json).unwrap();
        assert_eq!(
            facts.task_arn.as_deref(),
            Some("arn:aws:ecs:us-east-1:111122223333:task/bench/158d1c8083dd49d6b527399fd6414f5c")
        );
        assert_eq!(
            facts.family.as_deref(),
            Some("fargate-bench-netprobe-256-512")
        );
        assert_eq!(facts.revision.as_deref(), Some("3"));
        assert_eq!(facts.availability_zone.as_deref(), Some("us-east-1a"));
        assert_eq!(facts.launch_type.as_deref(), Some("FARGATE"));
        assert_eq!(facts.task_cpu_vcpus, Some(0.25));
        assert_eq!(facts.task_memory_bytes, Some(512 << 20));
        assert_eq!(facts.platform_version.as_deref(), Some("1.4.0"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_task_metadata("not json").is_err());
    }

    #[test]
    fn unreachable_endpoint_is_an_error_quickly() {
        // Port 1 on loopback: nothing listens, connect is refused at once.
        let start = std::time::Instant::now();
        assert!(fetch_task_metadata("http://127.0.0.1:1/v4/x").is_err());
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
