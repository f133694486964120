//! Linux facilities: pinning, transparent huge pages and their verification, steal time.
//! Non-Linux builds get no-ops that report "not available" instead of failing.

use std::io;

/// Pins the calling thread to one CPU.
#[cfg(target_os = "linux")]
pub(crate) fn pin_to(cpu: u32) -> io::Result<()> {
    if cpu as usize >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "CPU beyond CPU_SETSIZE",
        ));
    }
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: cpu is below CPU_SETSIZE, checked above.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    // SAFETY: pid 0 is this thread; `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_to(_cpu: u32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "pinning is unsupported on this platform",
    ))
}

/// Asks for transparent huge pages on `[ptr, ptr + len)`; true if the kernel accepted.
#[cfg(target_os = "linux")]
pub(crate) fn advise_huge_pages(ptr: *mut u8, len: usize) -> bool {
    // SAFETY: the range is a mapping we own (from our allocator); madvise only sets a hint.
    unsafe { libc::madvise(ptr.cast(), len, libc::MADV_HUGEPAGE) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn advise_huge_pages(_ptr: *mut u8, _len: usize) -> bool {
    false
}

/// Bytes of `[start, start + len)` backed by huge pages, from `/proc/self/smaps`.
pub(crate) fn huge_page_bytes(start: usize, len: usize) -> Option<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    Some(parse_smaps_huge(&smaps, start, start + len))
}

/// Sums `AnonHugePages` of the mappings that overlap `[start, end)`.
pub(crate) fn parse_smaps_huge(smaps: &str, start: usize, end: usize) -> u64 {
    let mut total = 0u64;
    let mut overlapping = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                overlapping = a < end && b > start;
                continue;
            }
        }
        if overlapping {
            if let Some(rest) = line.strip_prefix("AnonHugePages:") {
                let kib: u64 = rest
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .unwrap_or(0);
                total += kib * 1024;
            }
        }
    }
    total
}

/// Total steal ticks (USER_HZ) of all CPUs from `/proc/stat`, read as netprobe reads it
/// ([`probe_core::host::read_steal_ns`]); the report keeps counting ticks.
pub(crate) fn steal_ticks() -> Option<u64> {
    probe_core::host::read_steal_ns().map(|ns| ns / probe_core::host::NS_PER_TICK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_read_in_ticks_from_this_machines_proc_stat() {
        let before = probe_core::host::read_steal_ns().expect("/proc/stat has a cpu line")
            / probe_core::host::NS_PER_TICK;
        let ticks = steal_ticks().unwrap();
        // The hypervisor may steal a tick between the two reads, never a second's worth.
        assert!(
            (before..before + 100).contains(&ticks),
            "{before} then {ticks}"
        );
    }

    #[test]
    fn smaps_sums_only_overlapping_mappings() {
        let smaps = "7f0000000000-7f0000400000 rw-p 00000000 00:00 0\nAnonHugePages:      2048 kB\n\
                     7f0000400000-7f0000800000 rw-p 00000000 00:00 0\nAnonHugePages:      4096 kB\n";
        assert_eq!(
            parse_smaps_huge(smaps, 0x7f00_0000_0000, 0x7f00_0000_1000),
            2048 * 1024
        );
        assert_eq!(
            parse_smaps_huge(smaps, 0x7f00_0000_0000, 0x7f00_0080_0000),
            6144 * 1024
        );
    }
}
