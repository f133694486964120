//! Facts about the machine and container a probe ran in.
//!
//! Reading and parsing are separate: the `parse_*` functions take file contents and are tested
//! on fixtures, and [`HostFacts::collect`] reads the real files. Nothing here fails hard: a fact
//! that cannot be read is absent, and the report says so by leaving it out.

mod cgroup;
mod cpu;
mod ecs;
mod machine;
mod steal;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use cgroup::{
    cpu_stat_files, cpu_stat_files_in, parse_cpu_list, parse_cpu_stat, read_cgroup, CgroupFacts,
    CgroupVersion, CpuStat,
};
pub use cpu::{clean_model_name, parse_cpu_identity, CpuIdentity, Midr};
pub use ecs::{fetch_task_metadata, parse_task_metadata, EcsTaskFacts, METADATA_ENV};
pub use machine::{describe_hypervisor, parse_clocksource, HypervisorClues};
pub use steal::{parse_steal_ns, read_steal_ns, NS_PER_TICK};

/// Machine and container context recorded in every report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Host name (the container's, in a container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Kernel release (`uname -r`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// `x86_64`, `aarch64`, ...
    pub architecture: String,
    /// CPU model name (on Arm, the core named from its MIDR implementer and part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// The CPU's identity (vendor, family/model/stepping or MIDR): what its generation is
    /// told by ([`HostFacts::cpu_generation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuIdentity>,
    /// The kernel's clock source (`tsc`, `kvm-clock`, `xen`, `arch_sys_counter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clocksource: Option<String>,
    /// The hypervisor under the kernel and where that was read ([`describe_hypervisor`]);
    /// absent where nothing says the kernel is a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<String>,
    /// Why this probe seems to run under emulation (qemu-user through binfmt_misc), when it
    /// does: its figures then describe the emulator, and are functional only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulation: Option<String>,
    /// CPUs online on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_online: Option<u32>,
    /// CPUs this process may run on (its affinity mask).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affinity_cpus: Vec<u32>,
    /// Container limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupFacts>,
    /// CPUs the work may really use: the affinity count, capped by the cgroup quota.
    pub effective_cpus: f64,
    /// Total memory the kernel reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_memory_bytes: Option<u64>,
    /// ECS task facts when running on ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsTaskFacts>,
}

impl HostFacts {
    /// Reads every fact from `/proc`, `/sys` and, when [`METADATA_ENV`] is set, the ECS task
    /// metadata endpoint (2 s timeout; an unreachable endpoint only leaves `ecs` absent).
    pub fn collect() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let CpuFacts {
            affinity_cpus,
            cgroup,
            cpus_online,
        } = CpuFacts::read();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo.as_deref().and_then(parse_cpu_identity);
        let clocksource = read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .and_then(|s| parse_clocksource(&s));
        let (hypervisor_type, dmi_vendor, dmi_product) = (
            read("/sys/hypervisor/type"),
            read("/sys/class/dmi/id/sys_vendor"),
            read("/sys/class/dmi/id/product_name"),
        );
        let hypervisor = describe_hypervisor(
            cpu.as_ref(),
            &HypervisorClues {
                sys_hypervisor_type: hypervisor_type.as_deref(),
                dmi_sys_vendor: dmi_vendor.as_deref(),
                dmi_product_name: dmi_product.as_deref(),
                clocksource: clocksource.as_deref(),
            },
        );
        let mut facts = HostFacts {
            hostname: read("/proc/sys/kernel/hostname").map(|s| s.trim().to_owned()),
            kernel: read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()),
            architecture: std::env::consts::ARCH.to_owned(),
            cpu_model: cpuinfo.as_deref().and_then(parse_cpu_model),
            cpu,
            clocksource,
            hypervisor,
            emulation: cpuinfo
                .as_deref()
                .and_then(|c| detect_emulation(std::env::consts::ARCH, c)),
            cpus_online,
            affinity_cpus,
            cgroup,
            effective_cpus: 0.0,
            total_memory_bytes: read("/proc/meminfo").and_then(|s| parse_mem_total(&s)),
            ecs: std::env::var(METADATA_ENV)
                .ok()
                .and_then(|uri| fetch_task_metadata(&uri).ok()),
        };
        facts.effective_cpus = facts.compute_effective_cpus();
        facts
    }

    /// The affinity count capped by the cgroup CPU quota (at least one scheduling quantum's
    /// worth is never rounded away: 0.25 vCPU stays 0.25).
    pub fn compute_effective_cpus(&self) -> f64 {
        effective(&self.affinity_cpus, self.cpus_online, self.cgroup.as_ref())
    }

    /// Whole worker threads worth running: the effective CPUs rounded up, at least one. More
    /// threads than the quota allows only adds throttling (2 threads under a 1-CPU quota gave
    /// 9.8 GB/s triad against 14.5 GB/s with one).
    pub fn worker_threads(&self) -> u32 {
        (self.effective_cpus.ceil() as u32).max(1)
    }

    /// The CPU generation figures are grouped by: the identity's
    /// ([`CpuIdentity::generation`]), else the model name alone (reports written before the
    /// identity was recorded).
    pub fn cpu_generation(&self) -> Option<String> {
        self.cpu
            .as_ref()
            .and_then(CpuIdentity::generation)
            .or_else(|| self.cpu_model.as_deref().map(generation_of_model))
    }

    /// Memory this process may still use: the cgroup limit minus what the cgroup already uses,
    /// or the host's total memory when there is no limit.
    pub fn memory_headroom_bytes(&self) -> Option<u64> {
        match self.cgroup.as_ref() {
            Some(CgroupFacts {
                memory_limit_bytes: Some(limit),
                memory_current_bytes,
                ..
            }) => Some(limit.saturating_sub(memory_current_bytes.unwrap_or(0))),
            _ => self.total_memory_bytes,
        }
    }
}

/// The generation of a report that recorded only its model name: the name without marks and
/// clock, and the Graviton cores in the order [`CpuIdentity::generation`] names them
/// (`Arm Neoverse-V1 (AWS Graviton3)` is `Graviton3 (Neoverse-V1)`), so old and new reports
/// of one CPU group together.
fn generation_of_model(model: &str) -> String {
    let graviton = model
        .strip_prefix("Arm ")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|rest| rest.split_once(" (AWS "));
    match graviton {
        Some((core, generation)) => format!("{generation} ({core})"),
        None => clean_model_name(model),
    }
}

/// The memory this process may use at most: its cgroup's limit, or the host's total memory when
/// the cgroup sets none. Read without the slower facts (no ECS metadata), for a server sizing
/// its buffer budget at start.
pub fn memory_limit_bytes() -> Option<u64> {
    CpuFacts::read()
        .cgroup
        .and_then(|c| c.memory_limit_bytes)
        .or_else(|| {
            std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|s| parse_mem_total(&s))
        })
}

/// The CPUs this process may use right now (affinity capped by the cgroup quota, as in
/// [`HostFacts::effective_cpus`]), read without the slower facts: for choices a probe makes at
/// the start of every test, such as whether a receiver may poll.
pub fn effective_cpus() -> f64 {
    let facts = CpuFacts::read();
    effective(
        &facts.affinity_cpus,
        facts.cpus_online,
        facts.cgroup.as_ref(),
    )
}

/// How many CPUs this process may be scheduled on (its affinity mask; the quota aside), or
/// `None` where `/proc/self/status` cannot tell.
pub fn affinity_cpu_count() -> Option<usize> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_status_affinity(&s))
        .map(|cpus| cpus.len())
}

/// The CPU-related facts, read together.
struct CpuFacts {
    affinity_cpus: Vec<u32>,
    cgroup: Option<CgroupFacts>,
    cpus_online: Option<u32>,
}

impl CpuFacts {
    fn read() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        CpuFacts {
            affinity_cpus: read("/proc/self/status")
                .and_then(|s| parse_status_affinity(&s))
                .unwrap_or_default(),
            cgroup: read("/proc/self/cgroup")
                .and_then(|c| read_cgroup(Path::new("/sys/fs/cgroup"), &c)),
            cpus_online: read("/sys/devices/system/cpu/online")
                .and_then(|s| parse_cpu_list(s.trim()))
                .map(|cpus| cpus.len() as u32),
        }
    }
}

fn effective(affinity_cpus: &[u32], cpus_online: Option<u32>, cgroup: Option<&CgroupFacts>) -> f64 {
    let visible = if affinity_cpus.is_empty() {
        cpus_online.unwrap_or(1) as f64
    } else {
        affinity_cpus.len() as f64
    };
    match cgroup.and_then(CgroupFacts::cpu_limit) {
        Some(quota) => visible.min(quota),
        None => visible,
    }
}

/// `Cpus_allowed_list:` from `/proc/self/status`.
pub fn parse_status_affinity(status: &str) -> Option<Vec<u32>> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(|list| parse_cpu_list(list.trim()))
}

/// First `model name` (x86) or `CPU part`-style identification from `/proc/cpuinfo`.
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    let field = |name: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_owned())
        })
    };
    field("model name")
        .or_else(|| {
            // aarch64 kernels print no model name; implementer and part (the MIDR fields)
            // identify the core.
            let implementer = field("CPU implementer")?;
            let part = field("CPU part")?;
            Some(match arm_core_name(&implementer, &part) {
                Some(name) => name.to_owned(),
                None => format!("arm implementer {implementer} part {part}"),
            })
        })
        .filter(|s| !s.is_empty())
}

/// The Arm cores Fargate runs on, by MIDR implementer and part number.
fn arm_core_name(implementer: &str, part: &str) -> Option<&'static str> {
    let number = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    match (number(implementer)?, number(part)?) {
        (0x41, 0xd0c) => Some("Arm Neoverse-N1 (AWS Graviton2)"),
        (0x41, 0xd40) => Some("Arm Neoverse-V1 (AWS Graviton3)"),
        (0x41, 0xd4f) => Some("Arm Neoverse-V2 (AWS Graviton4)"),
        (0x41, 0xd49) => Some("Arm Neoverse-N2"),
        (0x41, 0xd0b) => Some("Arm Cortex-A76"),
        (0x41, 0xd08) => Some("Arm Cortex-A72"),
        _ => None,
    }
}

/// Whether a binary built for `architecture` reads another architecture's `/proc/cpuinfo`:
/// qemu-user (binfmt_misc) translates the instructions but shows the host's CPU, so an aarch64
/// probe on an x86_64 host sees x86 fields (and an x86_64 one on an Arm host sees MIDR fields).
/// Returns why, in words, or `None` when the CPU is the binary's own.
pub fn detect_emulation(architecture: &str, cpuinfo: &str) -> Option<String> {
    let has = |key: &str| {
        cpuinfo
            .lines()
            .any(|l| l.split_once(':').is_some_and(|(k, _)| k.trim() == key))
    };
    let x86_cpu = has("vendor_id") && has("flags");
    let arm_cpu = has("CPU implementer");
    let host = match architecture {
        "aarch64" | "arm" if x86_cpu && !arm_cpu => "x86_64",
        "x86_64" | "x86" if arm_cpu && !x86_cpu => "Arm",
        _ => return None,
    };
    let model = parse_cpu_model(cpuinfo).unwrap_or_else(|| "unknown model".into());
    Some(format!(
        "this {architecture} probe runs on an {host} CPU ({model}): it is emulated (qemu-user \
         through binfmt_misc), so its figures measure the emulator and are functional only"
    ))
}

/// `MemTotal` from `/proc/meminfo`, in bytes.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_effective_cpus_agree_with_the_full_facts() {
        let quick = effective_cpus();
        let full = HostFacts::collect();
        assert_eq!(quick, full.effective_cpus);
        assert!(quick > 0.0 && quick <= full.affinity_cpus.len().max(1) as f64);
        assert_eq!(affinity_cpu_count(), Some(full.affinity_cpus.len()));
    }

    #[test]
    fn affinity_from_status() {
        let status = "Name:\tcat\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1,4\n";
        assert_eq!(parse_status_affinity(status), Some(vec![0, 1, 4]));
    }

    #[test]
    fn cpu_model_x86_and_arm() {
        assert_eq!(
            parse_cpu_model("processor\t: 0\nmodel name\t: AMD EPYC\n").as_deref(),
            Some("AMD EPYC")
        );
        // The Graviton cores by MIDR part; others keep their numbers.
        for (part, name) in [
            ("0xd0c", "Arm Neoverse-N1 (AWS Graviton2)"),
            ("0xd40", "Arm Neoverse-V1 (AWS Graviton3)"),
            ("0xd4f", "Arm Neoverse-V2 (AWS Graviton4)"),
        ] {
            let arm = format!("processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: {part}\n");
            assert_eq!(parse_cpu_model(&arm).as_deref(), Some(name));
        }
        let other = "processor\t: 0\nCPU implementer\t: 0x61\nCPU part\t: 0x022\n";
        assert_eq!(
            parse_cpu_model(other).as_deref(),
            Some("arm implementer 0x61 part 0x022")
        );
    }

    /// Issue 15: a probe under qemu-user reads the host's /proc/cpuinfo, not its own CPU's.
    #[test]
    fn emulation_is_told_by_a_cpuinfo_of_another_architecture() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\
                   flags\t\t: fpu sse sse2 avx2\n";
        let graviton = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd sve\n\
                        CPU implementer\t: 0x41\nCPU part\t: 0xd40\n";
        let why = detect_emulation("aarch64", x86).expect("aarch64 on an x86 CPU");
        assert!(why.contains("x86_64 CPU (AMD EPYC)") && why.contains("functional only"));
        let why = detect_emulation("x86_64", graviton).expect("x86_64 on an Arm CPU");
        assert!(why.contains("Graviton3"), "{why}");
        assert_eq!(detect_emulation("x86_64", x86), None);
        assert_eq!(detect_emulation("aarch64", graviton), None);
        assert_eq!(
            detect_emulation("aarch64", ""),
            None,
            "no cpuinfo: no claim"
        );
    }

    #[test]
    fn mem_total_in_bytes() {
        assert_eq!(
            parse_mem_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
    }

    #[test]
    fn effective_cpus_follow_the_quota() {
        let mut facts = HostFacts {
            affinity_cpus: vec![0, 1],
            ..Default::default()
        };
        assert_eq!(facts.compute_effective_cpus(), 2.0);
        facts.cgroup = Some(CgroupFacts {
            version: CgroupVersion::V2,
            cpu_quota_us: Some(25_000),
            cpu_period_us: Some(100_000),
            memory_limit_bytes: Some(512 << 20),
            memory_current_bytes: Some(12 << 20),
        });
        assert_eq!(facts.compute_effective_cpus(), 0.25);
        facts.effective_cpus = facts.compute_effective_cpus();
        assert_eq!(facts.worker_threads(), 1);
        assert_eq!(facts.memory_headroom_bytes(), Some(500 << 20));
    }

    #[test]
    fn collect_on_this_machine_finds_the_basics() {
        let facts = HostFacts::collect();
        assert!(!facts.architecture.is_empty());
        assert!(facts.effective_cpus > 0.0);
        assert!(!facts.affinity_cpus.is_empty());
        assert!(facts.total_memory_bytes.unwrap_or(0) > 0);
        // Every Linux machine has a clock source and a cpuinfo naming its CPU.
        assert!(facts.clocksource.is_some());
        assert!(facts.cpu_generation().is_some(), "{:?}", facts.cpu);
    }

    #[test]
    fn the_generation_falls_back_to_the_model_name_of_older_reports() {
        let old = HostFacts {
            cpu_model: Some("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz".into()),
            ..Default::default()
        };
        assert_eq!(
            old.cpu_generation().as_deref(),
            Some("Intel Xeon Platinum 8259CL")
        );
        let new = HostFacts {
            cpu: parse_cpu_identity(
                "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\n\
                 model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\nstepping\t: 6\n",
            ),
            ..old
        };
        assert_eq!(
            new.cpu_generation().as_deref(),
            Some("Intel Xeon Platinum 8375C (Ice Lake)")
        );
        // An old Graviton report groups with a new one of the same core.
        let arm = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n";
        let old_arm = HostFacts {
            cpu_model: parse_cpu_model(arm),
            ..Default::default()
        };
        let new_arm = HostFacts {
            cpu: parse_cpu_identity(arm),
            ..old_arm.clone()
        };
        assert_eq!(old_arm.cpu_generation(), new_arm.cpu_generation());
        assert_eq!(
            old_arm.cpu_generation().as_deref(),
            Some("Graviton3 (Neoverse-V1)")
        );
    }
}
