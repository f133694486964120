//! Fargate task sizes (Linux) and their on-demand prices.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};

/// A Fargate task size: vCPU and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskSize {
    /// CPU units (1024 = 1 vCPU).
    pub cpu_units: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
}

/// (cpu units, allowed memory MiB) per the Fargate table: 0.25 vCPU takes a list, the others a
/// range with a step.
const TABLE: [(u32, u32, u32, u32); 7] = [
    // cpu units, min MiB, max MiB, step MiB (0 = the 0.25 vCPU list)
    (256, 512, 2048, 0),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Every valid Linux Fargate size, smallest first.
pub fn all_sizes() -> Vec<TaskSize> {
    let mut out = Vec::new();
    for (cpu, min, max, step) in TABLE {
        if step == 0 {
            for mem in [512, 1024, 2048] {
                out.push(TaskSize {
                    cpu_units: cpu,
                    memory_mib: mem,
                });
            }
        } else {
            let mut mem = min;
            while mem <= max {
                out.push(TaskSize {
                    cpu_units: cpu,
                    memory_mib: mem,
                });
                mem += step;
            }
        }
    }
    out
}

impl TaskSize {
    /// vCPUs as a number.
    pub fn vcpu(&self) -> f64 {
        f64::from(self.cpu_units) / 1024.0
    }

    /// Memory in GB as Fargate prices it (GiB, written GB by AWS).
    pub fn memory_gb(&self) -> f64 {
        f64::from(self.memory_mib) / 1024.0
    }

    /// Memory in bytes.
    pub fn memory_bytes(&self) -> u64 {
        u64::from(self.memory_mib) << 20
    }

    /// Parses `VCPUxGB` (`0.25x0.5`, `1x2`, `16x120`) and checks it against the Fargate table.
    ///
    /// # Errors
    /// [`BenchError::InvalidSize`] naming the valid neighbours.
    pub fn parse(text: &str) -> Result<TaskSize> {
        let invalid = |why: String| BenchError::InvalidSize {
            size: text.to_owned(),
            why,
        };
        let (cpu, mem) = text
            .trim()
            .split_once(['x', 'X'])
            .ok_or_else(|| invalid("write it as VCPUxGB, e.g. 1x2 or 0.25x0.5".into()))?;
        let vcpu: f64 = cpu
            .parse()
            .map_err(|_| invalid(format!("{cpu:?} is not a vCPU count")))?;
        let gb: f64 = mem
            .parse()
            .map_err(|_| invalid(format!("{mem:?} is not a memory size in GB")))?;
        if !vcpu.is_finite() || !gb.is_finite() || vcpu <= 0.0 || gb <= 0.0 {
            return Err(invalid("vCPU and GB must be positive".into()));
        }
        // Far outside any Fargate size: say so without echoing a 309-digit number.
        if vcpu > 1024.0 || gb > 1024.0 * 1024.0 {
            return Err(invalid(
                "is far outside Fargate's sizes (0.25 to 16 vCPU, 0.5 to 120 GB); see \
                 `fargate-bench sizes`"
                    .into(),
            ));
        }
        let size = TaskSize {
            cpu_units: (vcpu * 1024.0).round() as u32,
            memory_mib: (gb * 1024.0).round() as u32,
        };
        let all = all_sizes();
        if all.contains(&size) {
            return Ok(size);
        }
        let same_cpu: Vec<String> = all
            .iter()
            .filter(|s| s.cpu_units == size.cpu_units)
            .map(|s| s.to_string())
            .collect();
        if same_cpu.is_empty() {
            let cpus: Vec<String> = TABLE
                .iter()
                .map(|t| format_num(f64::from(t.0) / 1024.0))
                .collect();
            return Err(invalid(format!(
                "{} vCPU is not a Fargate size; use one of {}",
                format_num(vcpu),
                cpus.join(", ")
            )));
        }
        // The nearest valid memory sizes below and above.
        let below = all
            .iter()
            .filter(|s| s.cpu_units == size.cpu_units && s.memory_mib < size.memory_mib)
            .max();
        let above = all
            .iter()
            .filter(|s| s.cpu_units == size.cpu_units && s.memory_mib > size.memory_mib)
            .min();
        let neighbours: Vec<String> = below
            .iter()
            .chain(above.iter())
            .map(|s| s.to_string())
            .collect();
        Err(invalid(format!(
            "{} vCPU allows {} .. {} GB; nearest valid: {}",
            format_num(vcpu),
            same_cpu
                .first()
                .map(|s| s.split('x').nth(1).unwrap_or("").to_owned())
                .unwrap_or_default(),
            same_cpu
                .last()
                .map(|s| s.split('x').nth(1).unwrap_or("").to_owned())
                .unwrap_or_default(),
            neighbours.join(" or ")
        )))
    }
}

fn format_num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl fmt::Display for TaskSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{}",
            format_num(self.vcpu()),
            format_num(self.memory_gb())
        )
    }
}

/// CPU architecture a task runs on (prices differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Arch {
    /// X86_64. Serialized by its ECS name, like every other place it is written (results
    /// written before that said `x86`, and still load).
    #[serde(rename = "X86_64", alias = "x86")]
    X86,
    /// ARM64 (Graviton); written `arm` before.
    #[serde(rename = "ARM64", alias = "arm")]
    Arm,
}

impl Arch {
    /// Both, x86 first (the order reports put them side by side in).
    pub const ALL: [Arch; 2] = [Arch::X86, Arch::Arm];

    /// The name ECS uses (`runtimePlatform.cpuArchitecture`), which suites and reports use too.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Arch::X86 => "X86_64",
            Arch::Arm => "ARM64",
        }
    }

    /// The name Docker and OCI images use (`linux/amd64`, `linux/arm64`).
    pub fn docker_name(self) -> &'static str {
        match self {
            Arch::X86 => "amd64",
            Arch::Arm => "arm64",
        }
    }

    /// The name a probe reports as its host's architecture (`std::env::consts::ARCH`).
    pub fn rust_name(self) -> &'static str {
        match self {
            Arch::X86 => "x86_64",
            Arch::Arm => "aarch64",
        }
    }

    /// This machine's architecture, when it is one Fargate runs.
    pub fn host() -> Option<Arch> {
        Arch::ALL
            .into_iter()
            .find(|a| a.rust_name() == std::env::consts::ARCH)
    }

    /// Parses `X86_64` or `ARM64` (any case), and the other names people use for them
    /// (`amd64`, `x86`, `arm64`, `aarch64`, `graviton`).
    ///
    /// # Errors
    /// A message naming the value and the two accepted names.
    pub fn parse(text: &str) -> std::result::Result<Arch, String> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "x86_64" | "x86" | "amd64" => Ok(Arch::X86),
            "arm64" | "aarch64" | "arm" | "graviton" => Ok(Arch::Arm),
            _ => Err(format!(
                "architecture {text:?} is not one Fargate runs: use X86_64 or ARM64"
            )),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ecs_name())
    }
}

/// On-demand price per vCPU-hour and per GB-hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// USD per vCPU-hour.
    pub vcpu_hour: f64,
    /// USD per GB-hour.
    pub gb_hour: f64,
}

/// Which Fargate capacity a task runs on (prices differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// `FARGATE`.
    #[default]
    OnDemand,
    /// `FARGATE_SPOT`: interruptible, priced from the table's Spot rates.
    Spot,
}

impl Capacity {
    /// From an ECS capacity provider name.
    pub fn from_provider(provider: &str) -> Capacity {
        if provider == "FARGATE_SPOT" {
            Capacity::Spot
        } else {
            Capacity::OnDemand
        }
    }

    /// The capacity provider's name.
    pub fn provider(self) -> &'static str {
        match self {
            Capacity::OnDemand => "FARGATE",
            Capacity::Spot => "FARGATE_SPOT",
        }
    }
}

/// A dated price table; `--prices FILE` replaces it (same TOML shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// When these prices were read off the AWS price list.
    pub as_of: String,
    /// When the Spot rates were read: they move with supply and demand, so they age faster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_as_of: Option<String>,
    /// Region entries.
    pub regions: Vec<RegionPrices>,
}

/// Prices of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionPrices {
    /// e.g. `us-east-1`.
    pub region: String,
    /// x86 prices.
    pub x86: Rate,
    /// ARM prices.
    pub arm: Rate,
    /// FARGATE_SPOT x86 prices, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_x86: Option<Rate>,
    /// FARGATE_SPOT ARM prices, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_arm: Option<Rate>,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            as_of: "2026-11-01".into(),
            // The built-in Spot rates are not a dated reading of AWS's Spot prices (they are
            // about 32 % of on-demand, as published discounts run): every Spot figure says so.
            spot_as_of: None,
            regions: vec![
                RegionPrices {
                    region: "us-east-1".into(),
                    x86: Rate {
                        vcpu_hour: 0.04048,
                        gb_hour: 0.004445,
                    },
                    arm: Rate {
                        vcpu_hour: 0.03238,
                        gb_hour: 0.00356,
                    },
                    spot_x86: Some(Rate {
                        vcpu_hour: 0.012_932,
                        gb_hour: 0.001_420,
                    }),
                    spot_arm: Some(Rate {
                        vcpu_hour: 0.010_346,
                        gb_hour: 0.001_136,
                    }),
                },
                RegionPrices {
                    region: "ap-northeast-2".into(),
                    x86: Rate {
                        vcpu_hour: 0.04656,
                        gb_hour: 0.00511,
                    },
                    arm: Rate {
                        vcpu_hour: 0.03725,
                        gb_hour: 0.00409,
                    },
                    spot_x86: Some(Rate {
                        vcpu_hour: 0.014_690,
                        gb_hour: 0.001_612,
                    }),
                    spot_arm: Some(Rate {
                        vcpu_hour: 0.011_752,
                        gb_hour: 0.001_290,
                    }),
                },
            ],
        }
    }
}

impl PriceTable {
    /// Reads a price table from TOML.
    ///
    /// # Errors
    /// [`BenchError::Prices`] naming the file and what was wrong.
    pub fn from_toml(path: &std::path::Path) -> Result<PriceTable> {
        let text =
            crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES).map_err(|why| {
                BenchError::Prices {
                    path: path.to_owned(),
                    why,
                }
            })?;
        toml::from_str(&text).map_err(|e| BenchError::Prices {
            path: path.to_owned(),
            why: e.to_string(),
        })
    }

    /// USD per hour of `size` in `region` on `arch`, on demand.
    ///
    /// # Errors
    /// [`BenchError::UnknownRegion`] listing the regions the table has.
    pub fn hourly(&self, region: &str, arch: Arch, size: TaskSize) -> Result<f64> {
        self.hourly_on(region, arch, Capacity::OnDemand, size)
    }

    /// USD per hour of `size` in `region` on `arch` and `capacity`; never Spot at on-demand
    /// rates.
    ///
    /// # Errors
    /// [`BenchError::UnknownRegion`] listing the regions the table has, or
    /// [`BenchError::Prices`]-free [`BenchError::UnknownRegion`] naming Spot when the region has
    /// no Spot rate.
    pub fn hourly_on(
        &self,
        region: &str,
        arch: Arch,
        capacity: Capacity,
        size: TaskSize,
    ) -> Result<f64> {
        let r = self
            .regions
            .iter()
            .find(|r| r.region == region)
            .ok_or_else(|| BenchError::UnknownRegion {
                region: region.to_owned(),
                known: self
                    .regions
                    .iter()
                    .map(|r| r.region.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let rate = match (capacity, arch) {
            (Capacity::OnDemand, Arch::X86) => Some(r.x86),
            (Capacity::OnDemand, Arch::Arm) => Some(r.arm),
            (Capacity::Spot, Arch::X86) => r.spot_x86,
            (Capacity::Spot, Arch::Arm) => r.spot_arm,
        };
        let rate = rate.ok_or_else(|| BenchError::UnknownRegion {
            region: format!("{region} (FARGATE_SPOT, {arch:?})"),
            known: "the table has no Spot rate there; add spot_x86/spot_arm".into(),
        })?;
        Ok(size.vcpu() * rate.vcpu_hour + size.memory_gb() * rate.gb_hour)
    }
}

/// The prices a run or report applies: a table, a region, an architecture and a capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    /// The table (built-in or `--prices FILE`).
    pub table: PriceTable,
    /// Region whose prices apply.
    pub region: String,
    /// Architecture whose prices apply.
    pub arch: Arch,
    /// On demand or Spot.
    pub capacity: Capacity,
}

/// What stands for the date of Spot rates that are not a dated reading.
pub const APPROXIMATE_SPOT: &str = "an approximation (the built-in Spot rates are about 32 % of \
     on-demand, not a dated reading of AWS's Spot prices: give real ones with --prices FILE)";

/// The region whose prices apply when nothing names one.
pub const DEFAULT_PRICE_REGION: &str = "us-east-1";

impl Prices {
    /// The built-in table or `file`, for `region` (default [`DEFAULT_PRICE_REGION`]), on demand.
    /// A region the table does not know is accepted: ECS works there, and the cost columns say
    /// that no price is known ([`Prices::unknown`]).
    ///
    /// # Errors
    /// [`BenchError::Prices`] for an unreadable file.
    pub fn new(file: Option<&std::path::Path>, region: Option<&str>, arch: Arch) -> Result<Prices> {
        let table = match file {
            Some(p) => PriceTable::from_toml(p)?,
            None => PriceTable::default(),
        };
        Ok(Prices {
            table,
            region: region.unwrap_or(DEFAULT_PRICE_REGION).to_owned(),
            arch,
            capacity: Capacity::OnDemand,
        })
    }

    /// The same table for another capacity.
    pub fn on(mut self, capacity: Capacity) -> Prices {
        self.capacity = capacity;
        self
    }

    /// The prices of a run as it ran: on the capacity its `run.json` records, and in its
    /// recorded Region unless `region_given` (a `--region` flag overrides it). A run recorded
    /// before either was kept is priced as asked.
    pub fn as_run(mut self, meta: &crate::store::RunMeta, region_given: bool) -> Prices {
        if let Some(capacity) = meta.capacity {
            self.capacity = capacity;
        }
        if let Some(region) = meta.region.as_ref().filter(|_| !region_given) {
            self.region.clone_from(region);
        }
        self
    }

    /// USD per hour of `size`, when the table has a price for this region, architecture and
    /// capacity.
    pub fn hourly(&self, size: TaskSize) -> Option<f64> {
        self.hourly_for(self.arch, size)
    }

    /// USD per hour of `size` on `arch` (which may differ from [`Prices::arch`] when a run
    /// crosses architectures).
    pub fn hourly_for(&self, arch: Arch, size: TaskSize) -> Option<f64> {
        self.table
            .hourly_on(&self.region, arch, self.capacity, size)
            .ok()
    }

    /// Why no price applies, when none does (for warnings and the dry run).
    pub fn unknown(&self) -> Option<String> {
        self.table
            .hourly_on(&self.region, self.arch, self.capacity, all_sizes()[0])
            .err()
            .map(|e| format!("no price known: {e}; costs are left out"))
    }

    /// Refuses a region the table does not know (for `sizes`, which shows nothing else).
    ///
    /// # Errors
    /// [`BenchError::UnknownRegion`].
    pub fn require_known(&self) -> Result<()> {
        self.table
            .hourly_on(&self.region, self.arch, self.capacity, all_sizes()[0])
            .map(|_| ())
    }

    /// The date of the rates that apply; for Spot rates without a dated reading (the built-in
    /// table's), a warning that they are approximate and how to give real ones.
    pub fn as_of(&self) -> &str {
        match self.capacity {
            Capacity::Spot => self.table.spot_as_of.as_deref().unwrap_or(APPROXIMATE_SPOT),
            Capacity::OnDemand => &self.table.as_of,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_priced_where_and_on_what_it_ran_unless_told() {
        // Issue 23, item 7 (N10): a Seoul Spot run re-reported later was priced as us-east-1
        // on demand.
        let meta = crate::store::RunMeta {
            controller_version: "0".into(),
            capacity: Some(Capacity::Spot),
            region: Some("ap-northeast-2".into()),
            ..crate::store::RunMeta::new(
                "r",
                "ecs",
                crate::Suite::default_suite(),
                "2026-12-06T00:00:00Z",
            )
        };
        let asked = Prices::new(None, None, Arch::X86).unwrap();
        let size = TaskSize::parse("1x2").unwrap();
        let as_ran = asked.clone().as_run(&meta, false);
        assert_eq!(
            (as_ran.region.as_str(), as_ran.capacity),
            ("ap-northeast-2", Capacity::Spot)
        );
        assert_ne!(as_ran.hourly(size), asked.hourly(size));
        // --region overrides the recorded Region; the capacity is the run's.
        let told = asked.clone().as_run(&meta, true);
        assert_eq!(
            (told.region.as_str(), told.capacity),
            ("us-east-1", Capacity::Spot)
        );
        // A run that recorded neither is priced as asked.
        let old = crate::store::RunMeta {
            capacity: None,
            region: None,
            ..meta
        };
        assert_eq!(asked.clone().as_run(&old, false), asked);
    }

    /// Issue 22 (D11): one spelling of an architecture in a JSON document, its ECS name; the
    /// old lower-case spelling still reads.
    #[test]
    fn an_architecture_is_written_by_its_ecs_name_and_reads_its_old_name() {
        for arch in Arch::ALL {
            let json = serde_json::to_string(&arch).unwrap();
            assert_eq!(json, format!("\"{}\"", arch.ecs_name()));
            assert_eq!(serde_json::from_str::<Arch>(&json).unwrap(), arch);
        }
        assert_eq!(serde_json::from_str::<Arch>("\"x86\"").unwrap(), Arch::X86);
        assert_eq!(serde_json::from_str::<Arch>("\"arm\"").unwrap(), Arch::Arm);
    }

    /// Issue 11, defect 3: an unknown region runs and says no price is known.
    #[test]
    fn an_unknown_region_has_no_price_but_is_accepted() {
        let p = Prices::new(None, None, Arch::Arm).unwrap();
        assert_eq!(p.region, "us-east-1");
        assert!(p.hourly(TaskSize::parse("1x2").unwrap()).unwrap() > 0.0);
        assert!(p.unknown().is_none());
        let p = Prices::new(None, Some("mars-1"), Arch::X86).unwrap();
        assert_eq!(p.hourly(TaskSize::parse("1x2").unwrap()), None);
        let e = p.unknown().unwrap();
        assert!(e.contains("mars-1") && e.contains("us-east-1"), "{e}");
        assert!(p.require_known().is_err());
    }

    /// Issue 11, defect 4: Spot is priced from Spot rates, never on demand, and a table without
    /// them gives no price rather than a wrong one.
    #[test]
    fn spot_is_priced_from_its_own_rates() {
        let size = TaskSize::parse("1x2").unwrap();
        let on_demand = Prices::new(None, None, Arch::X86).unwrap();
        let spot = on_demand.clone().on(Capacity::Spot);
        let (od, sp) = (on_demand.hourly(size).unwrap(), spot.hourly(size).unwrap());
        assert!((sp - (0.012_932 + 2.0 * 0.001_420)).abs() < 1e-12);
        assert!(sp < od * 0.5, "{sp} vs {od}");
        let mut table = PriceTable::default();
        table.regions[0].spot_x86 = None;
        let p = Prices { table, ..spot };
        assert_eq!(p.hourly(size), None);
        assert!(p.unknown().unwrap().contains("Spot"), "{:?}", p.unknown());
    }

    /// Issue 14, defect 8: `--size 1e308x1` printed a 309-digit number.
    #[test]
    fn an_absurd_size_is_refused_briefly() {
        let e = TaskSize::parse("1e308x1").unwrap_err().to_string();
        assert!(e.contains("far outside") && e.len() < 200, "{e}");
    }

    #[test]
    fn there_are_74_linux_sizes() {
        assert_eq!(all_sizes().len(), 74);
    }

    #[test]
    fn sizes_parse_and_print() {
        for text in ["0.25x0.5", "1x2", "16x120", "0.5x4", "4x30"] {
            assert_eq!(TaskSize::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            TaskSize::parse("0.25x0.5").unwrap(),
            TaskSize {
                cpu_units: 256,
                memory_mib: 512
            }
        );
    }

    #[test]
    fn invalid_sizes_name_their_neighbours() {
        let err = TaskSize::parse("1x9").unwrap_err().to_string();
        assert!(err.contains("1x8"), "{err}");
        let err = TaskSize::parse("1x2.5").unwrap_err().to_string();
        assert!(err.contains("1x2 or 1x3"), "{err}");
        let err = TaskSize::parse("3x6").unwrap_err().to_string();
        assert!(err.contains("0.25, 0.5, 1, 2, 4, 8, 16"), "{err}");
        assert!(TaskSize::parse("big").is_err());
        assert!(TaskSize::parse("0x1").is_err());
    }

    #[test]
    fn hourly_price_by_hand() {
        let t = PriceTable::default();
        let size = TaskSize::parse("1x2").unwrap();
        let p = t.hourly("us-east-1", Arch::X86, size).unwrap();
        assert!((p - (0.04048 + 2.0 * 0.004445)).abs() < 1e-12);
        let p = t
            .hourly(
                "ap-northeast-2",
                Arch::Arm,
                TaskSize::parse("0.25x0.5").unwrap(),
            )
            .unwrap();
        assert!((p - (0.25 * 0.03725 + 0.5 * 0.00409)).abs() < 1e-12);
        assert!(t
            .hourly("mars-1", Arch::X86, size)
            .unwrap_err()
            .to_string()
            .contains("us-east-1"));
    }
}
