//! Which CPU a task landed on, and its generation.
//!
//! Fargate runs tasks on several CPU generations (Intel Skylake to Ice Lake, AMD Rome and
//! Milan, Graviton2 and Graviton3) and a median over tasks on different ones describes none of
//! them. So every report records the CPU's identity as `/proc/cpuinfo` gives it (x86: vendor,
//! model name, family, model and stepping; aarch64: the MIDR fields), and
//! [`CpuIdentity::generation`] derives one key a report groups figures by:
//! `Intel Xeon Platinum 8375C (Ice Lake)`, `AMD EPYC 7R13 (Milan)`, `Graviton3 (Neoverse-V1)`.
//!
//! Everything here is a pure function of the file's text, tested on captures of real machines
//! (`tests/fixtures/cpuinfo/`, sources in its README).

use serde::{Deserialize, Serialize};

/// The identity of the CPU, from the first processor block of `/proc/cpuinfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuIdentity {
    /// `GenuineIntel`, `AuthenticAMD` (x86 `vendor_id`), or the MIDR implementer's name on
    /// aarch64 (`Arm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The `model name` line, as the kernel prints it (x86).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// x86 `cpu family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<u32>,
    /// x86 `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<u32>,
    /// x86 `stepping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stepping: Option<u32>,
    /// aarch64 Main ID Register fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub midr: Option<Midr>,
    /// x86 `flags` holds `hypervisor`: the kernel runs as a guest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hypervisor_flag: bool,
}

/// The aarch64 Main ID Register as `/proc/cpuinfo` spells its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Midr {
    /// `CPU implementer` (0x41 is Arm Ltd).
    pub implementer: u32,
    /// `CPU variant` (the `r` of `rNpM`).
    pub variant: u32,
    /// `CPU part`: the core.
    pub part: u32,
    /// `CPU revision` (the `p` of `rNpM`).
    pub revision: u32,
}

/// Arm Ltd's MIDR implementer code.
const ARM_LTD: u32 = 0x41;

/// The Arm cores by MIDR part number (implementer 0x41), and the Graviton generation built on
/// each. Part numbers: Linux `arch/arm64/include/asm/cputype.h` (`ARM_CPU_PART_NEOVERSE_N1`
/// 0xD0C, `_V1` 0xD40, `_V2` 0xD4F, `_N2` 0xD49) and each core's Technical Reference Manual
/// (MIDR_EL1). Graviton generations: the AWS Graviton Technical Guide
/// (github.com/aws/aws-graviton-getting-started, its processor table): Graviton2 is built on
/// Neoverse-N1, Graviton3 (and 3E) on Neoverse-V1, Graviton4 on Neoverse-V2. An N1 could be
/// another vendor's chip (Ampere Altra), but Fargate's ARM64 tasks run on Graviton only.
const ARM_CORES: [(u32, &str, Option<&str>); 6] = [
    (0xd0c, "Neoverse-N1", Some("Graviton2")),
    (0xd40, "Neoverse-V1", Some("Graviton3")),
    (0xd4f, "Neoverse-V2", Some("Graviton4")),
    (0xd49, "Neoverse-N2", None),
    (0xd0b, "Cortex-A76", None),
    (0xd08, "Cortex-A72", None),
];

/// Intel server cores by (family 6) model number, from Linux
/// `arch/x86/include/asm/intel-family.h` (`INTEL_HASWELL_X` 0x3F, `INTEL_BROADWELL_X` 0x4F,
/// `INTEL_SKYLAKE_X` 0x55, `INTEL_ICELAKE_X` 0x6A, `INTEL_SAPPHIRERAPIDS_X` 0x8F,
/// `INTEL_EMERALDRAPIDS_X` 0xCF, `INTEL_GRANITERAPIDS_X` 0xAD). Model 0x55 is three generations
/// told apart by stepping (the kernel's `X86_STEPPING` checks, and Intel's specification
/// updates): 0-4 Skylake, 5-7 Cascade Lake, 10-11 Cooper Lake.
fn intel_codename(model: u32, stepping: Option<u32>) -> Option<&'static str> {
    Some(match model {
        0x3f => "Haswell",
        0x4f => "Broadwell",
        0x55 => match stepping? {
            0..=4 => "Skylake",
            5..=7 => "Cascade Lake",
            10 | 11 => "Cooper Lake",
            _ => return None,
        },
        0x6a | 0x6c => "Ice Lake",
        0x8f => "Sapphire Rapids",
        0xcf => "Emerald Rapids",
        0xad | 0xae => "Granite Rapids",
        _ => return None,
    })
}

/// AMD EPYC generations by family and model, from AMD's Processor Programming References
/// (PPR) of each family (17h models 00-0Fh Naples, 30-3Fh Rome; 19h models 00-0Fh Milan,
/// 10-1Fh Genoa, A0-AFh Bergamo; 1Ah models 00-1Fh Turin), as Linux's `amd_zen*` tables
/// group them.
fn amd_codename(family: u32, model: u32) -> Option<&'static str> {
    Some(match (family, model) {
        (0x17, 0x00..=0x0f) => "Naples",
        (0x17, 0x30..=0x3f) => "Rome",
        (0x19, 0x00..=0x0f) => "Milan",
        (0x19, 0x10..=0x1f) => "Genoa",
        (0x19, 0xa0..=0xaf) => "Bergamo",
        (0x1a, 0x00..=0x1f) => "Turin",
        _ => return None,
    })
}

/// The value of the first `key : value` line (the first processor's: every block repeats it).
fn field<'a>(cpuinfo: &'a str, name: &str) -> Option<&'a str> {
    cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim())
        })
        .filter(|v| !v.is_empty())
}

/// A decimal or `0x` hexadecimal number, as cpuinfo mixes them.
fn number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Parses the CPU's identity out of `/proc/cpuinfo`; `None` when it names no CPU at all.
pub fn parse_cpu_identity(cpuinfo: &str) -> Option<CpuIdentity> {
    let get = |name: &str| field(cpuinfo, name);
    let midr = match (get("CPU implementer"), get("CPU part")) {
        (Some(i), Some(p)) => Some(Midr {
            implementer: number(i)?,
            part: number(p)?,
            variant: get("CPU variant").and_then(number).unwrap_or(0),
            revision: get("CPU revision").and_then(number).unwrap_or(0),
        }),
        _ => None,
    };
    let vendor = get("vendor_id").map(str::to_owned).or_else(|| {
        midr.map(|m| match m.implementer {
            ARM_LTD => "Arm".to_owned(),
            other => format!("implementer {other:#x}"),
        })
    });
    let identity = CpuIdentity {
        vendor,
        model_name: get("model name").map(str::to_owned),
        family: get("cpu family").and_then(number),
        model: get("model").and_then(number),
        stepping: get("stepping").and_then(number),
        midr,
        hypervisor_flag: get("flags")
            .is_some_and(|f| f.split_whitespace().any(|w| w == "hypervisor")),
    };
    (identity != CpuIdentity::default()).then_some(identity)
}

/// A model name without the marketing marks, clock and core count:
/// `Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz` is `Intel Xeon Platinum 8375C`,
/// `AMD EPYC 7R13 48-Core Processor` is `AMD EPYC 7R13`.
pub fn clean_model_name(name: &str) -> String {
    let name = name.split(" @ ").next().unwrap_or(name);
    let words: Vec<&str> = name
        .split_whitespace()
        .map(|w| {
            w.trim_end_matches("(R)")
                .trim_end_matches("(TM)")
                .trim_end_matches("(tm)")
        })
        .filter(|w| !(w.is_empty() || matches!(*w, "CPU" | "Processor") || core_count(w)))
        .collect();
    words.join(" ")
}

/// `48-Core`: a core count in a model name.
fn core_count(word: &str) -> bool {
    word.strip_suffix("-Core")
        .is_some_and(|n| n.parse::<u32>().is_ok())
}

impl CpuIdentity {
    /// The Arm core and its Graviton generation, when the MIDR names a known Arm core.
    fn arm_core(&self) -> Option<(&'static str, Option<&'static str>)> {
        let m = self.midr.filter(|m| m.implementer == ARM_LTD)?;
        ARM_CORES
            .iter()
            .find(|(part, _, _)| *part == m.part)
            .map(|(_, core, graviton)| (*core, *graviton))
    }

    /// The microarchitecture's name (`Ice Lake`, `Milan`), for x86 CPUs whose family and model
    /// are known.
    pub fn codename(&self) -> Option<&'static str> {
        let (family, model) = (self.family?, self.model?);
        match self.vendor.as_deref()? {
            "GenuineIntel" if family == 6 => intel_codename(model, self.stepping),
            "AuthenticAMD" => amd_codename(family, model),
            _ => None,
        }
    }

    /// The generation key reports group figures by: the cleaned model name with its
    /// microarchitecture (`Intel Xeon Platinum 8375C (Ice Lake)`), the Graviton generation
    /// with its core (`Graviton3 (Neoverse-V1)`), an Arm core by name, else the MIDR numbers.
    /// `None` when the CPU named nothing to tell it by.
    pub fn generation(&self) -> Option<String> {
        if let Some(m) = self.midr {
            return Some(match self.arm_core() {
                Some((core, Some(graviton))) => format!("{graviton} ({core})"),
                Some((core, None)) => format!("Arm {core}"),
                None => format!("arm implementer {:#x} part {:#x}", m.implementer, m.part),
            });
        }
        let name = self.model_name.as_deref().map(clean_model_name);
        let name = name.filter(|n| !n.is_empty());
        match (name, self.codename()) {
            (Some(n), Some(c)) => Some(format!("{n} ({c})")),
            (Some(n), None) => Some(n),
            (None, Some(c)) => Some(format!("{} ({c})", self.vendor.as_deref().unwrap_or("x86"))),
            (None, None) => match (&self.vendor, self.family, self.model) {
                (Some(v), Some(f), Some(m)) => Some(format!("{v} family {f} model {m}")),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cpuinfo")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn an_intel_cascade_lake_capture_is_told_by_its_stepping() {
        let id = parse_cpu_identity(&fixture("intel-xeon-8259cl.txt")).unwrap();
        assert_eq!(id.vendor.as_deref(), Some("GenuineIntel"));
        assert_eq!(
            id.model_name.as_deref(),
            Some("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz")
        );
        assert_eq!(
            (id.family, id.model, id.stepping),
            (Some(6), Some(85), Some(7))
        );
        assert_eq!(id.midr, None);
        assert_eq!(
            id.generation().as_deref(),
            Some("Intel Xeon Platinum 8259CL (Cascade Lake)")
        );
        // The same model number at stepping 4 is the generation before.
        let skylake = CpuIdentity {
            stepping: Some(4),
            model_name: Some("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz".into()),
            ..id
        };
        assert_eq!(
            skylake.generation().as_deref(),
            Some("Intel Xeon Platinum 8175M (Skylake)")
        );
    }

    #[test]
    fn an_amd_milan_capture_has_every_field_and_the_hypervisor_flag() {
        let id = parse_cpu_identity(&fixture("amd-epyc-7r13.txt")).unwrap();
        assert_eq!(id.vendor.as_deref(), Some("AuthenticAMD"));
        assert_eq!(
            (id.family, id.model, id.stepping),
            (Some(25), Some(1), Some(1))
        );
        assert!(id.hypervisor_flag);
        assert_eq!(id.generation().as_deref(), Some("AMD EPYC 7R13 (Milan)"));
    }

    /// This machine's own cpuinfo (a VM whose model name is only `AMD EPYC`): the family and
    /// model still tell the generation.
    #[test]
    fn a_bare_amd_model_name_still_gets_its_generation() {
        let id = parse_cpu_identity(&fixture("amd-epyc-bare-vm.txt")).unwrap();
        assert_eq!(id.model_name.as_deref(), Some("AMD EPYC"));
        assert_eq!(id.generation().as_deref(), Some("AMD EPYC (Milan)"));
    }

    #[test]
    fn graviton_generations_come_from_the_midr() {
        let g3 = parse_cpu_identity(&fixture("graviton3.txt")).unwrap();
        assert_eq!(
            g3.midr,
            Some(Midr {
                implementer: 0x41,
                variant: 1,
                part: 0xd40,
                revision: 1
            })
        );
        assert_eq!(g3.vendor.as_deref(), Some("Arm"));
        assert_eq!(g3.model_name, None);
        assert!(!g3.hypervisor_flag, "aarch64 has no such flag");
        assert_eq!(g3.generation().as_deref(), Some("Graviton3 (Neoverse-V1)"));
        let n1 = parse_cpu_identity(&fixture("neoverse-n1.txt")).unwrap();
        assert_eq!(n1.midr.map(|m| (m.variant, m.part)), Some((3, 0xd0c)));
        assert_eq!(n1.generation().as_deref(), Some("Graviton2 (Neoverse-N1)"));
        let v2 = CpuIdentity {
            midr: Some(Midr {
                part: 0xd4f,
                ..g3.midr.unwrap()
            }),
            ..g3.clone()
        };
        assert_eq!(v2.generation().as_deref(), Some("Graviton4 (Neoverse-V2)"));
        let other = "processor\t: 0\nCPU implementer\t: 0x61\nCPU part\t: 0x022\n";
        let other = parse_cpu_identity(other).unwrap();
        assert_eq!(other.vendor.as_deref(), Some("implementer 0x61"));
        assert_eq!(
            other.generation().as_deref(),
            Some("arm implementer 0x61 part 0x22")
        );
    }

    #[test]
    fn model_names_lose_marks_clock_and_core_count() {
        assert_eq!(
            clean_model_name("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"),
            "Intel Xeon Platinum 8375C"
        );
        assert_eq!(
            clean_model_name("AMD EPYC 7R13 48-Core Processor"),
            "AMD EPYC 7R13"
        );
        assert_eq!(clean_model_name("AMD EPYC 7571"), "AMD EPYC 7571");
        let unknown = CpuIdentity {
            vendor: Some("GenuineIntel".into()),
            model_name: Some("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz".into()),
            family: Some(6),
            model: Some(0x4f),
            stepping: Some(1),
            ..Default::default()
        };
        assert_eq!(
            unknown.generation().as_deref(),
            Some("Intel Xeon E5-2686 v4 (Broadwell)")
        );
    }

    #[test]
    fn nothing_to_tell_by_is_none_not_a_guess() {
        assert_eq!(parse_cpu_identity(""), None);
        assert_eq!(
            parse_cpu_identity("processor\t: 0\nBogoMIPS\t: 50.00\n"),
            None
        );
        let garbage = "CPU implementer\t: zz\nCPU part\t: 0xd40\n";
        assert_eq!(parse_cpu_identity(garbage), None, "a MIDR it cannot read");
    }
}
