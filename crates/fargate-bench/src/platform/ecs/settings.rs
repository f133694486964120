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
    /// Unset means yes: a public IP lets a task pull in a public subnet without NAT, and in a
    /// private subnet it changes nothing; [`EcsSettings::public_ip`] reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<bool>,
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
    /// Fargate platform version (`LATEST` or `1.4.0`); unset lets ECS pick its latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// How long RunTask is retried while Fargate answers "Capacity is unavailable" (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_wait_secs: Option<u64>,
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

fn missing(key: &str, flag: &str) -> String {
    format!(
        "ECS setting `{key}` is empty; pass --{flag} or write it in the config file that \
         scripts/deploy.sh creates (--ecs-config)"
    )
}

/// What flags (or another tool) set over the config file and the suite's `[ecs]` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EcsOverrides {
    /// The config file `scripts/deploy.sh` writes.
    pub config_file: Option<std::path::PathBuf>,
    /// Cluster.
    pub cluster: Option<String>,
    /// Subnet.
    pub subnet: Option<String>,
    /// Security groups (replace the file's when not empty).
    pub security_groups: Vec<String>,
    /// Give tasks a public IP (`Some(false)` turns off what the file turns on).
    pub assign_public_ip: Option<bool>,
    /// Fargate platform version.
    pub platform_version: Option<String>,
    /// Seconds RunTask is retried on capacity errors.
    pub capacity_wait_secs: Option<u64>,
    /// Execution role ARN.
    pub execution_role_arn: Option<String>,
    /// Log group.
    pub log_group: Option<String>,
    /// `X86_64` or `ARM64`.
    pub cpu_architecture: Option<String>,
    /// `FARGATE` or `FARGATE_SPOT`.
    pub capacity_provider: Option<String>,
    /// netprobe image URI.
    pub netprobe_image: Option<String>,
    /// memprobe image URI.
    pub memprobe_image: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Profile.
    pub profile: Option<String>,
    /// Endpoint override.
    pub endpoint_url: Option<String>,
}

fn default_arch() -> String {
    "X86_64".into()
}

fn default_capacity() -> String {
    "FARGATE".into()
}

/// The default of `capacity_wait_secs`: FARGATE_SPOT capacity often returns within minutes.
pub const DEFAULT_CAPACITY_WAIT_SECS: u64 = 600;

/// A platform version as `(major, minor, patch)`; `LATEST` is the newest.
fn platform_version(text: &str) -> Option<(u32, u32, u32)> {
    if text == "LATEST" {
        return Some((u32::MAX, 0, 0));
    }
    let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

/// Fargate Linux platform versions that launch no new task. The ECS developer guide, "AWS
/// Fargate Linux platform version deprecation" (platform-versions-retired): 1.0.0 to 1.2.0 are
/// long deprecated, and "Starting June 15, 2026, we will make the platform version 1.3.0 as
/// Retired. At that time, you will not be able to launch new tasks or create new services
/// configured with platform version 1.3.0" (an earlier copy of the page said March 16, 2026).
const RETIRED_PLATFORMS: [&str; 4] = ["1.0.0", "1.1.0", "1.2.0", "1.3.0"];

/// Why `version` cannot run this benchmark's tasks, with the fix; `None` when it can. Only
/// LATEST and 1.4.0 or later launch: every older version is retired, and ARM64 needs 1.4.0
/// anyway (RuntimePlatform in the API reference), as do the 8 and 16 vCPU sizes
/// (RegisterTaskDefinition, memory: "This option requires Linux platform `1.4.0` or later"),
/// and FARGATE_SPOT on ARM64 (CapacityProviderStrategyItem).
fn platform_problem(version: &str) -> Option<String> {
    const FIX: &str = "set platform_version = \"1.4.0\" or \"LATEST\" (--platform-version), or \
                       remove it: unset means LATEST";
    let Some(v) = platform_version(version) else {
        return Some(format!(
            "platform_version {version:?} must be LATEST or a version such as 1.4.0"
        ));
    };
    if v >= (1, 4, 0) {
        return None;
    }
    let what = if RETIRED_PLATFORMS.contains(&version) {
        "is retired: Fargate launches no new task on it (AWS Fargate Linux platform version \
         deprecation)"
    } else {
        "is not a Fargate Linux platform version"
    };
    Some(format!(
        "platform_version {version} {what}; ARM64 tasks and the 8 and 16 vCPU sizes need 1.4.0 \
         or later anyway; {FIX}"
    ))
}

impl EcsSettings {
    /// Whether tasks get a public IP (unset: yes, see the field).
    pub fn public_ip(&self) -> bool {
        self.assign_public_ip.unwrap_or(true)
    }

    /// How long capacity failures are retried.
    pub fn capacity_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.capacity_wait_secs
                .unwrap_or(DEFAULT_CAPACITY_WAIT_SECS),
        )
    }

    /// `base` (its table) for where and how these settings run tasks: the region (settings,
    /// else `AWS_REGION`/`AWS_DEFAULT_REGION`, else the base's), the architecture and the
    /// capacity provider.
    pub fn prices(&self, base: crate::sizes::Prices) -> crate::sizes::Prices {
        use crate::sizes::Capacity;
        let env_region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        let region = self.region.clone().or(env_region).unwrap_or(base.region);
        crate::sizes::Prices {
            region,
            arch: self.arch(),
            capacity: Capacity::from_provider(&self.capacity_provider),
            ..base
        }
    }

    /// The architecture tasks run on when the suite names none (`cpu_architecture`; a value
    /// [`EcsSettings::validate`] refused counts as X86_64).
    pub fn arch(&self) -> crate::sizes::Arch {
        crate::sizes::Arch::parse(&self.cpu_architecture).unwrap_or(crate::sizes::Arch::X86)
    }

    /// Whether tasks run on FARGATE_SPOT.
    pub fn spot(&self) -> bool {
        self.capacity_provider == "FARGATE_SPOT"
    }

    /// Reads a config file.
    ///
    /// # Errors
    /// [`BenchError::EcsSettings`] naming the file and the key.
    pub fn from_file(path: &Path) -> Result<EcsSettings> {
        let bad = |why: String| BenchError::EcsSettings {
            path: Some(path.to_owned()),
            why,
        };
        let text = crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES).map_err(bad)?;
        toml::from_str(&text).map_err(|e| bad(e.to_string().trim().replace('\n', " ")))
    }

    /// Settings from, in rising precedence: the suite's `[ecs]` table, the config file,
    /// flags. Checked with [`EcsSettings::validate`] (or, when `for_cleanup`, without the images,
    /// since cleanup launches nothing).
    ///
    /// # Errors
    /// [`BenchError::EcsSettings`] naming the file or the setting and the flag that sets it.
    pub fn resolve(
        overrides: &EcsOverrides,
        from_suite: Option<&EcsSettings>,
        for_cleanup: bool,
    ) -> Result<EcsSettings> {
        let mut s = match (&overrides.config_file, from_suite) {
            (Some(p), _) => EcsSettings::from_file(p)?,
            (None, Some(suite)) => suite.clone(),
            (None, None) => EcsSettings {
                cpu_architecture: default_arch(),
                capacity_provider: default_capacity(),
                ..Default::default()
            },
        };
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                field.clone_from(v);
            }
        };
        set(&mut s.cluster, &overrides.cluster);
        set(&mut s.subnet, &overrides.subnet);
        set(&mut s.execution_role_arn, &overrides.execution_role_arn);
        set(&mut s.log_group, &overrides.log_group);
        set(&mut s.cpu_architecture, &overrides.cpu_architecture);
        set(&mut s.capacity_provider, &overrides.capacity_provider);
        set(&mut s.netprobe_image, &overrides.netprobe_image);
        set(&mut s.memprobe_image, &overrides.memprobe_image);
        if !overrides.security_groups.is_empty() {
            s.security_groups.clone_from(&overrides.security_groups);
        }
        if overrides.assign_public_ip.is_some() {
            s.assign_public_ip = overrides.assign_public_ip;
        }
        if overrides.capacity_wait_secs.is_some() {
            s.capacity_wait_secs = overrides.capacity_wait_secs;
        }
        for (field, v) in [
            (&mut s.platform_version, &overrides.platform_version),
            (&mut s.region, &overrides.region),
            (&mut s.profile, &overrides.profile),
            (&mut s.endpoint_url, &overrides.endpoint_url),
        ] {
            if v.is_some() {
                field.clone_from(v);
            }
        }
        if for_cleanup {
            s.validate_account()?;
        } else {
            s.validate()?;
        }
        Ok(s)
    }

    /// Checks every setting; the error names the flag or key to set.
    ///
    /// # Errors
    /// [`BenchError::EcsSettings`].
    pub fn validate(&self) -> Result<()> {
        self.validate_account()?;
        for (value, key, flag) in [
            (&self.netprobe_image, "netprobe_image", "netprobe-image"),
            (&self.memprobe_image, "memprobe_image", "memprobe-image"),
        ] {
            if value.trim().is_empty() {
                return Err(BenchError::EcsSettings {
                    path: None,
                    why: missing(key, flag),
                });
            }
        }
        Ok(())
    }

    /// Checks the settings again for each architecture a suite crosses (the platform version
    /// each needs), as if `cpu_architecture` named it.
    ///
    /// # Errors
    /// [`BenchError::EcsSettings`] naming the architecture.
    pub fn validate_arches(&self, arches: &[crate::sizes::Arch]) -> Result<()> {
        for arch in arches {
            EcsSettings {
                cpu_architecture: arch.ecs_name().to_owned(),
                ..self.clone()
            }
            .validate_account()?;
        }
        Ok(())
    }

    /// Checks what finding and stopping tasks needs (everything but the images).
    ///
    /// # Errors
    /// [`BenchError::EcsSettings`].
    pub fn validate_account(&self) -> Result<()> {
        let bad = |why: String| Err(BenchError::EcsSettings { path: None, why });
        for (value, key, flag) in [
            (&self.cluster, "cluster", "cluster"),
            (&self.subnet, "subnet", "subnet"),
            (
                &self.execution_role_arn,
                "execution_role_arn",
                "execution-role-arn",
            ),
            (&self.log_group, "log_group", "log-group"),
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
        if let Some(version) = &self.platform_version {
            if let Some(why) = platform_problem(version) {
                return bad(why);
            }
        }
        if self.capacity_wait_secs.is_some_and(|s| s > 24 * 3600) {
            return bad("capacity_wait_secs must be at most 86400 (a day)".into());
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
    fn flags_beat_the_file_which_beats_the_suite() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ecs.toml");
        std::fs::write(
            &file,
            toml::to_string(&good())
                .unwrap()
                .replace("bench", "from-file"),
        )
        .unwrap();
        let mut suite = good();
        suite.cluster = "from-suite".into();
        let mut o = EcsOverrides::default();
        let s = EcsSettings::resolve(&o, Some(&suite), false).unwrap();
        assert_eq!(s.cluster, "from-suite");
        o.config_file = Some(file);
        assert_eq!(
            EcsSettings::resolve(&o, Some(&suite), false)
                .unwrap()
                .cluster,
            "from-file"
        );
        o.cluster = Some("from-flag".into());
        o.region = Some("eu-west-1".into());
        let s = EcsSettings::resolve(&o, Some(&suite), false).unwrap();
        assert_eq!(
            (s.cluster.as_str(), s.region.as_deref()),
            ("from-flag", Some("eu-west-1"))
        );
    }

    #[test]
    fn cleanup_needs_no_images() {
        let mut s = good();
        s.netprobe_image.clear();
        assert!(s.validate().is_err());
        s.validate_account().unwrap();
        let o = EcsOverrides {
            cluster: Some("c".into()),
            subnet: Some("subnet-1".into()),
            security_groups: vec!["sg-1".into()],
            execution_role_arn: Some("arn:aws:iam::1:role/x".into()),
            log_group: Some("/fb".into()),
            ..Default::default()
        };
        EcsSettings::resolve(&o, None, true).unwrap();
        let e = EcsSettings::resolve(&o, None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--netprobe-image"), "{e}");
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

    /// Issue 11, defect 4 and issue 23, item 8 (N16): only LATEST and 1.4.0 or later launch.
    /// 1.0.0 to 1.3.0 are retired (the ECS developer guide's platform version deprecation
    /// page), and 1.4.0 is also what ARM64, FARGATE_SPOT on ARM64 and the 8 and 16 vCPU sizes
    /// need; every refusal names the setting's fix.
    #[test]
    fn only_platform_versions_that_launch_are_accepted() {
        let with = |arch: &str, capacity: &str, version: Option<&str>| {
            let mut s = good();
            s.cpu_architecture = arch.into();
            s.capacity_provider = capacity.into();
            s.platform_version = version.map(str::to_owned);
            s.validate().map_err(|e| e.to_string())
        };
        for arch in ["X86_64", "ARM64"] {
            for capacity in ["FARGATE", "FARGATE_SPOT"] {
                with(arch, capacity, None).unwrap();
                with(arch, capacity, Some("LATEST")).unwrap();
                with(arch, capacity, Some("1.4.0")).unwrap();
                // A version AWS may publish later is not refused here (RunTask would say).
                with(arch, capacity, Some("1.5.0")).unwrap();
            }
        }
        for retired in ["1.0.0", "1.1.0", "1.2.0", "1.3.0"] {
            let e = with("X86_64", "FARGATE", Some(retired)).unwrap_err();
            assert!(
                e.contains("is retired")
                    && e.contains("ARM64 tasks and the 8 and 16 vCPU sizes need 1.4.0")
                    && e.contains("platform_version = \"1.4.0\" or \"LATEST\""),
                "{e}"
            );
        }
        let e = with("X86_64", "FARGATE_SPOT", Some("1.3.0")).unwrap_err();
        assert!(e.contains("is retired"), "{e}");
        let e = with("ARM64", "FARGATE", Some("1.3.0")).unwrap_err();
        assert!(
            e.contains("ARM64 tasks") && e.contains("1.4.0 or later"),
            "{e}"
        );
        let e = with("X86_64", "FARGATE", Some("1.3.5")).unwrap_err();
        assert!(e.contains("is not a Fargate Linux platform version"), "{e}");
        let e = with("X86_64", "FARGATE", Some("1.4")).unwrap_err();
        assert!(e.contains("LATEST or a version"), "{e}");
    }

    /// Issue 11, defect 12: a flag turns off the file's public IP; unset means on.
    #[test]
    fn the_public_ip_follows_the_last_word() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ecs.toml");
        let mut on = good();
        on.assign_public_ip = Some(true);
        std::fs::write(&file, toml::to_string(&on).unwrap()).unwrap();
        let mut o = EcsOverrides {
            config_file: Some(file),
            ..Default::default()
        };
        assert!(EcsSettings::resolve(&o, None, false).unwrap().public_ip());
        o.assign_public_ip = Some(false);
        assert!(!EcsSettings::resolve(&o, None, false).unwrap().public_ip());
        assert!(good().public_ip(), "unset means a public IP");
    }

    /// Issue 11, defect 3: the config file's region, architecture and capacity price the run.
    #[test]
    fn prices_follow_the_effective_settings() {
        use crate::sizes::{Arch, Capacity, Prices};
        let mut s = good();
        s.region = Some("ap-northeast-2".into());
        s.cpu_architecture = "ARM64".into();
        s.capacity_provider = "FARGATE_SPOT".into();
        let p = s.prices(Prices::new(None, None, Arch::X86).unwrap());
        assert_eq!(
            (p.region.as_str(), p.arch, p.capacity),
            ("ap-northeast-2", Arch::Arm, Capacity::Spot)
        );
        let size = crate::sizes::TaskSize::parse("1x2").unwrap();
        assert!((p.hourly(size).unwrap() - (0.011_752 + 2.0 * 0.001_290)).abs() < 1e-12);
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
