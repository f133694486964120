//! Human formatting of base units. Machine output always stays in base units (bytes, bits per
//! second, nanoseconds); these helpers only scale for people, keeping bits and bytes and decimal
//! and binary prefixes apart: Gbit/s for networks, GB/s (10^9 B/s, STREAM accounting) for memory.

/// `1.23 Gbit/s`, `456.7 Mbit/s`: decimal prefixes on bits per second.
pub fn format_bits_per_sec(bits_per_sec: f64) -> String {
    scale_decimal(bits_per_sec, "bit/s")
}

/// `12.34 GB/s`: decimal prefixes on bytes per second, as STREAM and likwid report.
pub fn format_bytes_per_sec(bytes_per_sec: f64) -> String {
    scale_decimal(bytes_per_sec, "B/s")
}

/// `1.5 KiB`, `256 MiB`: binary prefixes on a byte count (sizes of arrays and working sets).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `850 ns`, `12.3 us`, `4.56 ms`, `1.20 s`.
pub fn format_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} us", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn scale_decimal(value: f64, unit: &str) -> String {
    const PREFIXES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (factor, prefix) in PREFIXES {
        if value.abs() >= factor {
            return format!("{:.2} {prefix}{unit}", value / factor);
        }
    }
    format!("{value:.0} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_bytes_use_decimal_prefixes() {
        assert_eq!(format_bits_per_sec(9_410_000_000.0), "9.41 Gbit/s");
        assert_eq!(format_bits_per_sec(500.0), "500 bit/s");
        assert_eq!(format_bytes_per_sec(20_400_000_000.0), "20.40 GB/s");
    }

    #[test]
    fn sizes_use_binary_prefixes() {
        assert_eq!(format_bytes(4096), "4 KiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(256 << 20), "256 MiB");
        assert_eq!(format_bytes(100), "100 B");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_ns(850.0), "850 ns");
        assert_eq!(format_ns(12_340.0), "12.3 us");
        assert_eq!(format_ns(4_560_000.0), "4.56 ms");
    }
}
