//! Cache sizes the system claims (sysfs), used to size arrays and to compare with the measured
//! latency curve. The measured curve decides: sysfs and CPUID disagree on some virtual machines.

use std::path::Path;

/// One cache level as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLevel {
    /// 1, 2, 3...
    pub level: u8,
    /// `Data`, `Instruction` or `Unified`.
    pub kind: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// Parses a sysfs cache size such as `32K`, `1024K` or `32768K` (binary units).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 1024),
        'M' => (&t[..t.len() - 1], 1024 * 1024),
        'G' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    digits.parse::<u64>().ok().map(|d| d * mult)
}

/// Reads `cpu0`'s caches under a sysfs root (normally `/sys/devices/system/cpu`).
pub fn read_levels(root: &Path) -> Vec<CacheLevel> {
    let Ok(entries) = std::fs::read_dir(root.join("cpu0/cache")) else {
        return Vec::new();
    };
    let mut levels: Vec<CacheLevel> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let read = |f: &str| std::fs::read_to_string(e.path().join(f)).ok();
            Some(CacheLevel {
                level: read("level")?.trim().parse().ok()?,
                kind: read("type")?.trim().to_owned(),
                size_bytes: parse_size(&read("size")?)?,
            })
        })
        .filter(|c| c.kind != "Instruction")
        .collect();
    levels.sort_by_key(|c| c.level);
    levels
}

/// The last-level cache size, if sysfs knows one.
pub fn last_level_bytes(levels: &[CacheLevel]) -> Option<u64> {
    levels.iter().max_by_key(|c| c.level).map(|c| c.size_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("32K\n"), Some(32 * 1024));
        assert_eq!(parse_size("32768K"), Some(32 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("x"), None);
    }

    #[test]
    fn this_machine_reports_some_levels_or_none_without_panicking() {
        let levels = read_levels(Path::new("/sys/devices/system/cpu"));
        if let Some(llc) = last_level_bytes(&levels) {
            assert!(llc >= 32 * 1024);
        }
    }
}
