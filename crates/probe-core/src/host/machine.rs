//! What runs under the kernel: its clock source and the hypervisor, where either is readable.
//!
//! A task's timings rest on its clock source (`tsc` is read in user space; `xen` and
//! `kvm-clock` cost more per read, and Fargate has run both), and a figure may move with the
//! virtualization under it. The hypervisor is told by what a guest may read: x86's
//! `hypervisor` cpuinfo flag, `/sys/hypervisor/type` (Xen guests) and the DMI system vendor and
//! product (`Amazon EC2` / `m5.large` on Nitro). Firecracker, which Fargate uses, gives no DMI:
//! then the flag and the clock source are all there is, and the description says so.

use super::cpu::CpuIdentity;

/// The clock source in use, from `/sys/devices/system/clocksource/clocksource0/
/// current_clocksource`.
pub fn parse_clocksource(text: &str) -> Option<String> {
    let name = text.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_owned())
}

/// What the guest could read about its hypervisor (each argument the text of its file, when
/// readable).
#[derive(Debug, Clone, Copy, Default)]
pub struct HypervisorClues<'a> {
    /// `/sys/hypervisor/type` (`xen`).
    pub sys_hypervisor_type: Option<&'a str>,
    /// `/sys/class/dmi/id/sys_vendor` (`Amazon EC2`, `QEMU`).
    pub dmi_sys_vendor: Option<&'a str>,
    /// `/sys/class/dmi/id/product_name` (`m5.large`, `Standard PC (Q35 + ICH9, 2009)`).
    pub dmi_product_name: Option<&'a str>,
    /// The clock source in use.
    pub clocksource: Option<&'a str>,
}

/// The hypervisor in words, from the clues a guest can read: its name and where it came from,
/// or `None` when nothing says the kernel runs as a guest (bare metal, or an aarch64 guest
/// with no DMI).
pub fn describe_hypervisor(
    cpu: Option<&CpuIdentity>,
    clues: &HypervisorClues<'_>,
) -> Option<String> {
    let clean = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let vendor = clean(clues.dmi_sys_vendor);
    let product = clean(clues.dmi_product_name);
    let mut said = Vec::new();
    if let Some(kind) = clean(clues.sys_hypervisor_type) {
        said.push(format!("{kind} (/sys/hypervisor)"));
    }
    // A DMI vendor alone names a physical machine's maker too: it counts only beside another
    // clue, or when it is a known virtual platform.
    let virtual_vendor = vendor.as_deref().is_some_and(|v| {
        [
            "Amazon EC2",
            "QEMU",
            "Xen",
            "VMware, Inc.",
            "Microsoft Corporation",
            "Google",
            "innotek GmbH",
        ]
        .contains(&v)
    });
    let flag = cpu.is_some_and(|c| c.hypervisor_flag);
    let clock_says = match clues.clocksource {
        Some("kvm-clock") => Some("KVM"),
        Some("xen") => Some("Xen"),
        Some("hyperv_clocksource_tsc_page") => Some("Hyper-V"),
        _ => None,
    };
    if let Some(v) = vendor.filter(|_| virtual_vendor || flag || !said.is_empty()) {
        said.push(match product {
            Some(p) => format!("{v} {p} (DMI)"),
            None => format!("{v} (DMI)"),
        });
    }
    if let Some(kind) = clock_says.filter(|_| said.is_empty()) {
        said.push(format!("{kind} (its clock source)"));
    }
    if said.is_empty() && flag {
        said.push("a hypervisor (cpuinfo flag; it names itself nowhere readable)".to_owned());
    }
    (!said.is_empty()).then(|| said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged() -> CpuIdentity {
        CpuIdentity {
            hypervisor_flag: true,
            ..Default::default()
        }
    }

    #[test]
    fn clock_sources_are_one_word() {
        assert_eq!(
            parse_clocksource("kvm-clock\n").as_deref(),
            Some("kvm-clock")
        );
        assert_eq!(parse_clocksource("  \n"), None);
        assert_eq!(
            parse_clocksource("tsc hpet"),
            None,
            "a list is not the current one"
        );
    }

    #[test]
    fn a_nitro_instance_names_itself_in_dmi() {
        let clues = HypervisorClues {
            dmi_sys_vendor: Some("Amazon EC2\n"),
            dmi_product_name: Some("m5.large\n"),
            clocksource: Some("kvm-clock"),
            ..Default::default()
        };
        assert_eq!(
            describe_hypervisor(Some(&flagged()), &clues).as_deref(),
            Some("Amazon EC2 m5.large (DMI)")
        );
    }

    #[test]
    fn xen_says_so_twice() {
        let clues = HypervisorClues {
            sys_hypervisor_type: Some("xen\n"),
            dmi_sys_vendor: Some("Xen"),
            dmi_product_name: Some("HVM domU"),
            clocksource: Some("xen"),
        };
        assert_eq!(
            describe_hypervisor(Some(&flagged()), &clues).as_deref(),
            Some("xen (/sys/hypervisor); Xen HVM domU (DMI)")
        );
    }

    /// Firecracker (Fargate): no DMI, no /sys/hypervisor; the flag and kvm-clock remain.
    #[test]
    fn without_dmi_the_clock_source_or_the_flag_tell_it() {
        let kvm = HypervisorClues {
            clocksource: Some("kvm-clock"),
            ..Default::default()
        };
        assert_eq!(
            describe_hypervisor(Some(&flagged()), &kvm).as_deref(),
            Some("KVM (its clock source)")
        );
        let tsc = HypervisorClues {
            clocksource: Some("tsc"),
            ..Default::default()
        };
        assert!(describe_hypervisor(Some(&flagged()), &tsc)
            .unwrap()
            .starts_with("a hypervisor (cpuinfo flag"));
    }

    #[test]
    fn bare_metal_claims_no_hypervisor() {
        let dell = HypervisorClues {
            dmi_sys_vendor: Some("Dell Inc."),
            dmi_product_name: Some("PowerEdge R750"),
            clocksource: Some("tsc"),
            ..Default::default()
        };
        assert_eq!(
            describe_hypervisor(Some(&CpuIdentity::default()), &dell),
            None
        );
        assert_eq!(describe_hypervisor(None, &HypervisorClues::default()), None);
    }
}
