//! What the ECS backend needs to know about the account, from the config file that
//! `scripts/deploy.sh` writes, the suite, or flags; validated before any AWS call.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};

/// ECS settings. Field names match the keys of the config file (`ecs.toml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsSettings {
    /// Cluster name or ARN.
    #[serde(default)]
    pub cluster: String,
    /// Exactly one subnet, so client and server share an availability zone.
    #[serde(default)]
    pub subnet: String,
    /// Security groups (one that allows all traffic from itself).
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Give tasks a public IP (needed to pull images without a NAT gateway or endpoints).
    #[serde(default)]
    pub assign_public_ip: bool,
    /// Task execution role (pulls images, writes logs).
    #[serde(default)]
    pub execution_role_arn: String,
    /// CloudWatch Logs group the probes log to.
    #[serde(default)]
    pub log_group: String,
    /// netprobe image URI.
    #[serde(default)]
    pub netprobe_image: String,
    /// memprobe image URI.
    #[serde(default)]
    pub memprobe_image: String,
    /// `X86_64` or `ARM64`.
    #[serde(default = "default_arch")]
    pub cpu_architecture: String,
    /// `FARGATE` or `FARGATE_SPOT`.
    #[serde(default = "default_capacity")]
    pub capacity_provider: String,
    /// Region (else the standard chain: `AWS_REGION`, profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Profile (else `AWS_PROFILE` or default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Endpoint override (tests point this at moto; else `AWS_ENDPOINT_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

fn default_arch() -> String {
    "X86_64".into()
}

fn default_capacity() -> String {
    "FARGATE".into()
}

impl EcsSettings {
    /// Reads a config file.
    ///
    /// # Errors
    /// [`BenchError::Suite`] naming the file and the key.
    pub fn from_file(path: &Path) -> Result<EcsSettings> {
        let bad = |why: String| BenchError::Suite {
            path: Some(path.to_owned()),
            why,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        toml::from_str(&text).map_err(|e| bad(e.to_string().trim().replace('\n', " ")))
    }

    /// Checks every setting; the error names the flag or key to set.
    ///
    /// # Errors
    /// [`BenchError::Suite`].
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(BenchError::Suite { path: None, why });
        let missing = |key: &str, flag: &str| {
            format!(
                "ECS setting `{key}` is empty; pass --{flag} or write it in the config file that \
                 scripts/deploy.sh creates (--ecs-config)"
            )
        };
        for (value, key, flag) in [
            (&self.cluster, "cluster", "cluster"),
            (&self.subnet, "subnet", "subnet"),
            (
                &self.execution_role_arn,
                "execution_role_arn",
                "execution-role-arn",
            ),
            (&self.log_group, "log_group", "log-group"),
            (&self.netprobe_image, "netprobe_image", "netprobe-image"),
            (&self.memprobe_image, "memprobe_image", "memprobe-image"),
        ] {
            if value.trim().is_empty() {
                return bad(missing(key, flag));
            }
        }
        if self.subnet.contains(',') {
            return bad(format!(
                "subnet {:?} lists several subnets; give exactly one so client and server share an availability zone",
                self.subnet
            ));
        }
        if self.security_groups.is_empty() {
            return bad(missing("security_groups", "security-group"));
        }
        if !self.execution_role_arn.starts_with("arn:") {
            return bad(format!(
                "execution_role_arn {:?} is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)",
                self.execution_role_arn
            ));
        }
        if !["X86_64", "ARM64"].contains(&self.cpu_architecture.as_str()) {
            return bad(format!(
                "cpu_architecture {:?} must be X86_64 or ARM64",
                self.cpu_architecture
            ));
        }
        if !["FARGATE", "FARGATE_SPOT"].contains(&self.capacity_provider.as_str()) {
            return bad(format!(
                "capacity_provider {:?} must be FARGATE or FARGATE_SPOT",
                self.capacity_provider
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> EcsSettings {
        EcsSettings {
            cluster: "bench".into(),
            subnet: "subnet-1".into(),
            security_groups: vec!["sg-1".into()],
            execution_role_arn: "arn:aws:iam::111122223333:role/exec".into(),
            log_group: "/fargate-bench".into(),
            netprobe_image: "netprobe:1".into(),
            memprobe_image: "memprobe:1".into(),
            cpu_architecture: "X86_64".into(),
            capacity_provider: "FARGATE".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_config_validates() {
        good().validate().unwrap();
    }

    #[test]
    fn each_problem_names_its_flag() {
        type Breaker = Box<dyn Fn(&mut EcsSettings)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|s| s.cluster.clear()), "--cluster"),
            (
                Box::new(|s| s.subnet = "subnet-1,subnet-2".into()),
                "exactly one",
            ),
            (Box::new(|s| s.security_groups.clear()), "--security-group"),
            (
                Box::new(|s| s.execution_role_arn = "exec".into()),
                "not an ARN",
            ),
            (
                Box::new(|s| s.cpu_architecture = "RISCV".into()),
                "X86_64 or ARM64",
            ),
            (
                Box::new(|s| s.capacity_provider = "EC2".into()),
                "FARGATE_SPOT",
            ),
            (Box::new(|s| s.memprobe_image.clear()), "--memprobe-image"),
        ];
        for (break_it, needle) in cases {
            let mut s = good();
            break_it(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn the_deploy_script_config_parses() {
        let text = "cluster = \"bench\"\nsubnet = \"subnet-1\"\nsecurity_groups = [\"sg-1\"]\n\
                    assign_public_ip = true\nexecution_role_arn = \"arn:aws:iam::1:role/x\"\n\
                    log_group = \"/fb\"\nnetprobe_image = \"a\"\nmemprobe_image = \"b\"\nregion = \"us-east-1\"\n";
        let s: EcsSettings = toml::from_str(text).unwrap();
        s.validate().unwrap();
        assert_eq!(s.capacity_provider, "FARGATE");
        assert!(toml::from_str::<EcsSettings>("clustre = \"x\"")
            .unwrap_err()
            .to_string()
            .contains("clustre"));
    }
}
