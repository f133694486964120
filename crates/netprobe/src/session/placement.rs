//! Where a side's data threads run, and whether its bulk receivers may poll there.

use crate::protocol::ReceiveWait;

/// Whether bulk receivers on this side poll: asked for, or (`Auto`) when each of the side's
/// `data_threads` can have a whole CPU: the pinned CPUs, else the process's, capped by the
/// cgroup quota. A fractional-vCPU task never polls: spinning would spend its quota.
pub(super) fn receivers_poll(wait: ReceiveWait, data_threads: usize, pinned: &[u32]) -> bool {
    match wait {
        ReceiveWait::Poll => true,
        ReceiveWait::Block => false,
        ReceiveWait::Auto => {
            let mut cpus = probe_core::host::effective_cpus();
            if !pinned.is_empty() {
                cpus = cpus.min(distinct(pinned) as f64);
            }
            data_threads as f64 <= cpus.floor()
        }
    }
}

fn distinct(cpus: &[u32]) -> usize {
    cpus.iter().collect::<std::collections::BTreeSet<_>>().len()
}

/// How many CPUs this side's data threads may be scheduled on (a quota limits time, not
/// placement, so it does not count here).
pub(super) fn allowed_cpus(pinned: &[u32]) -> u32 {
    if pinned.is_empty() {
        probe_core::host::affinity_cpu_count().map_or(u32::MAX, |n| n as u32)
    } else {
        distinct(pinned) as u32
    }
}
