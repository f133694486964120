//! cgroup v1 and v2 limits, read from a cgroup filesystem root so tests can point at fixtures.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which cgroup hierarchy the limits came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupVersion {
    /// Legacy per-controller hierarchies.
    V1,
    /// The unified hierarchy.
    V2,
}

/// CPU and memory limits of the process's cgroup (the tightest along its path to the root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupFacts {
    /// Hierarchy version.
    pub version: CgroupVersion,
    /// CPU time allowed per period; absent when unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota_us: Option<u64>,
    /// CFS period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period_us: Option<u64>,
    /// Memory limit; absent when unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    /// Memory the cgroup uses now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_current_bytes: Option<u64>,
}

impl CgroupFacts {
    /// Quota divided by period, in CPUs, when a quota is set.
    pub fn cpu_limit(&self) -> Option<f64> {
        match (self.cpu_quota_us, self.cpu_period_us) {
            (Some(q), Some(p)) if p > 0 => Some(q as f64 / p as f64),
            _ => None,
        }
    }
}

/// CFS throttling counters from `cpu.stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStat {
    /// Enforcement periods elapsed.
    pub nr_periods: u64,
    /// Periods in which the group was throttled.
    pub nr_throttled: u64,
    /// Total time throttled.
    pub throttled_ns: u64,
}

impl CpuStat {
    /// Counter growth from `earlier` to `self`.
    pub fn since(&self, earlier: &CpuStat) -> CpuStat {
        CpuStat {
            nr_periods: self.nr_periods.saturating_sub(earlier.nr_periods),
            nr_throttled: self.nr_throttled.saturating_sub(earlier.nr_throttled),
            throttled_ns: self.throttled_ns.saturating_sub(earlier.throttled_ns),
        }
    }

    /// Reads `cpu.stat` of this process's cgroup (v2 `throttled_usec`, v1 `throttled_time`).
    pub fn read_current() -> Option<CpuStat> {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let root = Path::new("/sys/fs/cgroup");
        let dirs = cgroup_dirs(root, &cgroup);
        let path = dirs.v2.or(dirs.cpu_v1)?;
        parse_cpu_stat(&std::fs::read_to_string(path.join("cpu.stat")).ok()?)
    }

    /// Reads one `cpu.stat` file (see [`cpu_stat_files`]).
    pub fn read_file(path: &Path) -> Option<CpuStat> {
        parse_cpu_stat(&std::fs::read_to_string(path).ok()?)
    }
}

/// The `cpu.stat` files of this process's cgroup and of each ancestor up to the hierarchy's
/// root, own first. Throttling is counted in the cgroup whose quota bites, which may be a parent
/// (an ECS task's cgroup above its container's), so a reader watches them all. Empty where
/// there is no CPU controller to read.
pub fn cpu_stat_files() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/cgroup")
        .map(|text| cpu_stat_files_in(Path::new("/sys/fs/cgroup"), &text))
        .unwrap_or_default()
}

/// [`cpu_stat_files`] under `root` for the given `/proc/self/cgroup` text.
pub fn cpu_stat_files_in(root: &Path, proc_self_cgroup: &str) -> Vec<PathBuf> {
    let dirs = cgroup_dirs(root, proc_self_cgroup);
    let Some(own) = dirs.v2.or(dirs.cpu_v1) else {
        return Vec::new();
    };
    ancestors(root, &own)
        .map(|dir| dir.join("cpu.stat"))
        .filter(|file| file.is_file())
        .collect()
}

/// Parses `cpu.stat` of either version.
pub fn parse_cpu_stat(text: &str) -> Option<CpuStat> {
    let mut stat = CpuStat::default();
    let mut seen = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<u64>() else {
            continue;
        };
        match key {
            "nr_periods" => stat.nr_periods = value,
            "nr_throttled" => stat.nr_throttled = value,
            "throttled_usec" => stat.throttled_ns = value * 1_000,
            "throttled_time" => stat.throttled_ns = value,
            _ => continue,
        }
        seen = true;
    }
    seen.then_some(stat)
}

/// Parses a CPU list such as `0-3,8,10-11`.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 65_536 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

struct CgroupDirs {
    v2: Option<PathBuf>,
    cpu_v1: Option<PathBuf>,
    memory_v1: Option<PathBuf>,
}

/// Maps `/proc/self/cgroup` lines to directories under `root`. Inside a container with its own
/// cgroup namespace the path is `/` and the files sit at the root itself.
fn cgroup_dirs(root: &Path, proc_self_cgroup: &str) -> CgroupDirs {
    let mut dirs = CgroupDirs {
        v2: None,
        cpu_v1: None,
        memory_v1: None,
    };
    for line in proc_self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            if root.join("cgroup.controllers").exists() {
                dirs.v2 = Some(root.join(relative));
            }
        } else {
            let names: Vec<&str> = controllers.split(',').collect();
            if names.contains(&"cpu") {
                dirs.cpu_v1 = Some(v1_dir(root, controllers, relative));
            }
            if names.contains(&"memory") {
                dirs.memory_v1 = Some(v1_dir(root, "memory", relative));
            }
        }
    }
    dirs
}

fn v1_dir(root: &Path, controllers: &str, relative: &str) -> PathBuf {
    // Distributions mount "cpu,cpuacct" with symlinks "cpu" and "cpuacct"; take whichever exists.
    let candidates = [
        controllers,
        controllers.split(',').next().unwrap_or(controllers),
    ];
    let base = candidates
        .iter()
        .map(|c| root.join(c))
        .find(|p| p.exists())
        .unwrap_or_else(|| root.join(candidates[0]));
    let nested = base.join(relative);
    if nested.exists() {
        nested
    } else {
        base
    }
}

/// Reads the tightest CPU and memory limits along the process's cgroup path.
///
/// `root` is normally `/sys/fs/cgroup`; `proc_self_cgroup` is the text of `/proc/self/cgroup`.
pub fn read_cgroup(root: &Path, proc_self_cgroup: &str) -> Option<CgroupFacts> {
    let dirs = cgroup_dirs(root, proc_self_cgroup);
    if let Some(dir) = dirs.v2 {
        return Some(read_v2(root, &dir));
    }
    if dirs.cpu_v1.is_none() && dirs.memory_v1.is_none() {
        return None;
    }
    Some(read_v1(dirs.cpu_v1.as_deref(), dirs.memory_v1.as_deref()))
}

/// Directories from `dir` up to and including `root`: a parent's limit binds the child too.
fn ancestors<'a>(root: &'a Path, dir: &'a Path) -> impl Iterator<Item = &'a Path> {
    dir.ancestors().take_while(move |p| p.starts_with(root))
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn read_v2(root: &Path, dir: &Path) -> CgroupFacts {
    let mut facts = CgroupFacts {
        version: CgroupVersion::V2,
        cpu_quota_us: None,
        cpu_period_us: None,
        memory_limit_bytes: None,
        memory_current_bytes: read_trimmed(&dir.join("memory.current"))
            .and_then(|s| s.parse().ok()),
    };
    let mut tightest_cpu: Option<(u64, u64)> = None;
    for level in ancestors(root, dir) {
        if let Some(text) = read_trimmed(&level.join("cpu.max")) {
            let mut parts = text.split_whitespace();
            let quota = parts.next().and_then(|q| q.parse::<u64>().ok());
            let period = parts
                .next()
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(100_000);
            if let Some(q) = quota {
                let tighter = tightest_cpu
                    .is_none_or(|(tq, tp)| (q as f64 / period as f64) < (tq as f64 / tp as f64));
                if tighter {
                    tightest_cpu = Some((q, period));
                }
            }
            facts.cpu_period_us.get_or_insert(period);
        }
        if let Some(limit) = read_trimmed(&level.join("memory.max")).and_then(|s| s.parse().ok()) {
            facts.memory_limit_bytes = Some(
                facts
                    .memory_limit_bytes
                    .map_or(limit, |m: u64| m.min(limit)),
            );
        }
    }
    if let Some((q, p)) = tightest_cpu {
        facts.cpu_quota_us = Some(q);
        facts.cpu_period_us = Some(p);
    }
    facts
}

/// v1 reports "unlimited" as a huge number (page-rounded `i64::MAX`).
const V1_UNLIMITED_BYTES: u64 = 1 << 60;

fn read_v1(cpu_dir: Option<&Path>, memory_dir: Option<&Path>) -> CgroupFacts {
    let number = |dir: Option<&Path>, file: &str| -> Option<i64> {
        read_trimmed(&dir?.join(file)).and_then(|s| s.parse().ok())
    };
    let quota = number(cpu_dir, "cpu.cfs_quota_us").filter(|q| *q > 0);
    let period = number(cpu_dir, "cpu.cfs_period_us").filter(|p| *p > 0);
    let limit = number(memory_dir, "memory.limit_in_bytes")
        .filter(|l| *l > 0 && (*l as u64) < V1_UNLIMITED_BYTES);
    CgroupFacts {
        version: CgroupVersion::V1,
        cpu_quota_us: quota.map(|q| q as u64),
        cpu_period_us: period.map(|p| p as u64),
        memory_limit_bytes: limit.map(|l| l as u64),
        memory_current_bytes: number(memory_dir, "memory.usage_in_bytes").map(|u| u as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8"), Some(vec![0, 1, 2, 3, 8]));
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list(""), None);
    }

    #[test]
    fn cgroup_v2_fixture_takes_the_tightest_limit_on_the_path() {
        let facts = read_cgroup(&fixture("cgroup-v2"), "0::/ecs/task/container\n").unwrap();
        assert_eq!(facts.version, CgroupVersion::V2);
        // task level: 25000 100000 (0.25 CPU); container level: max.
        assert_eq!(facts.cpu_quota_us, Some(25_000));
        assert_eq!(facts.cpu_period_us, Some(100_000));
        assert_eq!(facts.cpu_limit(), Some(0.25));
        // task level 512 MiB, container level 1 GiB: the task's binds.
        assert_eq!(facts.memory_limit_bytes, Some(536_870_912));
        assert_eq!(facts.memory_current_bytes, Some(10_485_760));
    }

    #[test]
    fn cgroup_v2_fixture_unlimited_at_root() {
        let facts = read_cgroup(&fixture("cgroup-v2"), "0::/\n").unwrap();
        assert_eq!(facts.cpu_quota_us, None);
        assert_eq!(facts.memory_limit_bytes, None);
    }

    #[test]
    fn cgroup_v1_fixture() {
        let proc_cgroup = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n";
        let facts = read_cgroup(&fixture("cgroup-v1"), proc_cgroup).unwrap();
        assert_eq!(facts.version, CgroupVersion::V1);
        assert_eq!(facts.cpu_limit(), Some(0.5));
        assert_eq!(facts.memory_limit_bytes, Some(268_435_456));
        assert_eq!(facts.memory_current_bytes, Some(4_194_304));
    }

    #[test]
    fn cgroup_v1_unlimited_memory_is_absent() {
        let proc_cgroup = "12:memory:/unlimited\n4:cpu,cpuacct:/unlimited\n";
        let facts = read_cgroup(&fixture("cgroup-v1"), proc_cgroup).unwrap();
        assert_eq!(facts.memory_limit_bytes, None);
        assert_eq!(facts.cpu_quota_us, None);
    }

    #[test]
    fn throttling_is_watched_in_the_cgroup_and_every_ancestor_that_counts_it() {
        let root = fixture("cgroup-v2");
        let files = cpu_stat_files_in(&root, "0::/ecs/task/container\n");
        // The container has no cpu.stat of its own in the fixture; the task's counts.
        assert_eq!(files, [root.join("ecs/task/cpu.stat")]);
        assert!(cpu_stat_files_in(&root, "garbage").is_empty());
        let stat = CpuStat::read_file(&files[0]).unwrap();
        assert_eq!(stat.throttled_ns, 4_500_000_000);
    }

    #[test]
    fn cpu_stat_both_versions() {
        let v2 = std::fs::read_to_string(fixture("cgroup-v2/ecs/task/cpu.stat")).unwrap();
        assert_eq!(
            parse_cpu_stat(&v2),
            Some(CpuStat {
                nr_periods: 1200,
                nr_throttled: 300,
                throttled_ns: 4_500_000_000
            })
        );
        let v1 = "nr_periods 10\nnr_throttled 2\nthrottled_time 123456\n";
        assert_eq!(parse_cpu_stat(v1).unwrap().throttled_ns, 123_456);
        assert_eq!(parse_cpu_stat("garbage"), None);
    }
}
