//! Task definitions: one family per probe, size and architecture, reused when an identical
//! active revision exists. Pure functions, so the shapes are unit-tested without AWS.

use serde::Serialize;

use super::settings::EcsSettings;
use crate::platform::Probe;
use crate::sizes::{Arch, TaskSize};

/// Container name inside every task definition.
pub const CONTAINER: &str = "probe";

/// Prefix of the awslogs stream names: streams are `PREFIX/probe/TASK_ID`.
pub const STREAM_PREFIX: &str = "fargate-bench";

/// netprobe's control port.
pub const SERVER_PORT: u16 = probe_core::contract::NETPROBE_PORT;

/// Everything a task definition of ours contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDefPlan {
    /// `fargate-bench-netprobe-1024-2048`.
    pub family: String,
    /// CPU units, as ECS wants them (a string).
    pub cpu: String,
    /// Memory MiB, as a string.
    pub memory: String,
    /// Image URI.
    pub image: String,
    /// `X86_64` or `ARM64`.
    pub cpu_architecture: String,
    /// Execution role.
    pub execution_role_arn: String,
    /// Log group.
    pub log_group: String,
    /// Log region.
    pub log_region: String,
}

/// The family name of a probe at a size on an architecture: `fargate-bench-netprobe-1024-2048`
/// on X86_64, `fargate-bench-netprobe-arm64-1024-2048` on ARM64, so a run that crosses both
/// keeps one active family of each instead of re-registering one family back and forth.
pub fn family(probe: Probe, size: TaskSize, arch: Arch) -> String {
    let arch = match arch {
        Arch::X86 => "",
        Arch::Arm => "-arm64",
    };
    format!(
        "fargate-bench-{}{arch}-{}-{}",
        probe.binary(),
        size.cpu_units,
        size.memory_mib
    )
}

impl TaskDefPlan {
    /// The definition for `probe` at `size` on `arch`. The image is the settings' URI on
    /// every architecture: `scripts/push-images.sh --arch both` pushes it as a manifest list
    /// whose entries ECS picks by `runtimePlatform`.
    pub fn new(
        settings: &EcsSettings,
        region: &str,
        probe: Probe,
        size: TaskSize,
        arch: Arch,
    ) -> Self {
        TaskDefPlan {
            family: family(probe, size, arch),
            cpu: size.cpu_units.to_string(),
            memory: size.memory_mib.to_string(),
            image: match probe {
                Probe::Netprobe => settings.netprobe_image.clone(),
                Probe::Memprobe => settings.memprobe_image.clone(),
            },
            cpu_architecture: arch.ecs_name().to_owned(),
            execution_role_arn: settings.execution_role_arn.clone(),
            log_group: settings.log_group.clone(),
            log_region: region.to_owned(),
        }
    }

    /// The awslogs options: `mode=blocking` so the result line is never dropped when the
    /// container writes faster than the log driver ships.
    pub fn log_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("awslogs-group", self.log_group.clone()),
            ("awslogs-region", self.log_region.clone()),
            ("awslogs-stream-prefix", STREAM_PREFIX.to_owned()),
            ("mode", "blocking".to_owned()),
        ]
    }
}

/// The log stream a task's container writes to.
pub fn log_stream(task_arn: &str) -> String {
    let task_id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    format!("{STREAM_PREFIX}/{CONTAINER}/{task_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_name_probe_and_size() {
        let size = TaskSize::parse("1x2").unwrap();
        assert_eq!(
            family(Probe::Netprobe, size, Arch::X86),
            "fargate-bench-netprobe-1024-2048"
        );
        assert_eq!(
            family(
                Probe::Memprobe,
                TaskSize::parse("0.25x0.5").unwrap(),
                Arch::X86
            ),
            "fargate-bench-memprobe-256-512"
        );
        assert_eq!(
            family(Probe::Memprobe, size, Arch::Arm),
            "fargate-bench-memprobe-arm64-1024-2048"
        );
    }

    #[test]
    fn the_plan_carries_size_image_and_blocking_logs() {
        let settings = EcsSettings {
            netprobe_image: "repo/netprobe:1".into(),
            log_group: "/fb".into(),
            cpu_architecture: "ARM64".into(),
            ..Default::default()
        };
        let p = TaskDefPlan::new(
            &settings,
            "eu-west-1",
            Probe::Netprobe,
            TaskSize::parse("0.5x1").unwrap(),
            Arch::Arm,
        );
        assert_eq!((p.cpu.as_str(), p.memory.as_str()), ("512", "1024"));
        assert_eq!(p.cpu_architecture, "ARM64");
        assert_eq!(p.image, "repo/netprobe:1");
        assert!(p.log_options().contains(&("mode", "blocking".into())));
        assert!(p
            .log_options()
            .contains(&("awslogs-region", "eu-west-1".into())));
    }

    #[test]
    fn log_streams_follow_the_awslogs_convention() {
        assert_eq!(
            log_stream("arn:aws:ecs:us-east-1:1:task/bench/abc123"),
            "fargate-bench/probe/abc123"
        );
    }
}
