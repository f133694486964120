//! Time the hypervisor took from this machine's virtual CPUs (`steal` in `/proc/stat`): a
//! slowdown no setting inside the guest explains.

/// Nanoseconds per `/proc/stat` tick: `USER_HZ` is 100 on every Linux ABI.
pub const NS_PER_TICK: u64 = 10_000_000;

/// Steal time of all CPUs together from the text of `/proc/stat` (the eighth counter of the
/// `cpu` line), in nanoseconds at 10 ms resolution.
pub fn parse_steal_ns(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    Some(ticks.saturating_mul(NS_PER_TICK))
}

/// [`parse_steal_ns`] of this machine; `None` where `/proc/stat` cannot be read.
pub fn read_steal_ns() -> Option<u64> {
    parse_steal_ns(&std::fs::read_to_string("/proc/stat").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_counter_of_all_cpus_in_ticks_of_10_ms() {
        let stat = "cpu  1 2 3 4 5 6 7 42 0 0\ncpu0 1 2 3 4 5 6 7 40 0 0\nintr 5\n";
        assert_eq!(parse_steal_ns(stat), Some(420_000_000));
        assert_eq!(
            parse_steal_ns("cpu  1 2 3\n"),
            None,
            "an old kernel without it"
        );
        assert_eq!(parse_steal_ns("intr 5\n"), None);
    }

    #[test]
    fn this_machine_has_a_steal_counter() {
        if cfg!(target_os = "linux") {
            assert!(read_steal_ns().is_some());
        }
    }
}
