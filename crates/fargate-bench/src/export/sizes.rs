//! `fargate-bench sizes`: every Fargate size with its hourly price.

use std::io::{self, Write};

use crate::sizes::{all_sizes, Prices};

/// Writes every valid size, its vCPUs, memory and price per hour under `prices`.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_sizes(prices: &Prices, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<10} {:>5} {:>8} {:>10}   ({} {:?}, prices as of {})",
        "size", "vCPU", "GB", "USD/hour", prices.region, prices.arch, prices.table.as_of
    )?;
    for s in all_sizes() {
        writeln!(
            out,
            "{:<10} {:>5} {:>8} {:>10.5}",
            s.to_string(),
            s.vcpu(),
            s.memory_gb(),
            prices.hourly(s).unwrap_or(f64::NAN)
        )?;
    }
    Ok(())
}
