//! aarch64 SVE kernels (Graviton3's Neoverse-V1 has 256-bit vectors, Graviton4's V2 128-bit):
//! vector-length agnostic loops, so one binary uses whatever width the core has. Each loop is
//! predicated by `WHILELO`, so the tail needs no scalar code; stores are `ST1D`, or `STNT1D`
//! (non-temporal) for the streaming variants.
//!
//! Rust has no stable SVE intrinsics, so the loops are inline assembly, each one whole (the
//! compiler never holds an SVE register across them). `.arch_extension sve` lets the assembler
//! take the instructions whatever the crate's target features; [`super::Isa::detect`] picks
//! these kernels only on a CPU that reports SVE.
//!
//! # Safety
//! Every function takes raw pointers valid for `n` elements (8-byte aligned, as any `f64`), and
//! may only run on a CPU with SVE.

use std::arch::asm;

/// `$setup` once, then one predicated pass of `$body` over `n` doubles (index register `{i}`,
/// predicate `p0`): `$body` loads with `p0/z`, stores with `p0`.
macro_rules! sve_loop {
    ($setup:literal, $body:literal, $($operands:tt)*) => {
        asm!(
            ".arch_extension sve",
            $setup,
            "mov {i}, #0",
            "whilelo p0.d, {i}, {n}",
            "b.none 2f",
            "1:",
            $body,
            "incd {i}",
            "whilelo p0.d, {i}, {n}",
            "b.first 1b",
            "2:",
            i = out(reg) _,
            $($operands)*
            out("p0") _,
            options(nostack)
        )
    };
}

/// `c = a`.
///
/// # Safety
/// See the module.
pub(super) unsafe fn copy<const NT: bool>(c: *mut f64, a: *const f64, n: usize) {
    // SAFETY: every access is at an index below `n`, under the predicate `WHILELO` builds from
    // `n` (see the module for the pointers and the CPU).
    unsafe {
        if NT {
            sve_loop!(
                "",
                "ld1d {{z0.d}}, p0/z, [{a}, {i}, lsl #3]\nstnt1d {{z0.d}}, p0, [{c}, {i}, lsl #3]",
                a = in(reg) a, c = in(reg) c, n = in(reg) n, out("v0") _,
            );
        } else {
            sve_loop!(
                "",
                "ld1d {{z0.d}}, p0/z, [{a}, {i}, lsl #3]\nst1d {{z0.d}}, p0, [{c}, {i}, lsl #3]",
                a = in(reg) a, c = in(reg) c, n = in(reg) n, out("v0") _,
            );
        }
    }
}

/// `b = s * c`.
///
/// # Safety
/// See the module.
pub(super) unsafe fn scale<const NT: bool>(b: *mut f64, c: *const f64, s: f64, n: usize) {
    // SAFETY: as in `copy`.
    unsafe {
        if NT {
            sve_loop!(
                "dup z3.d, {s}",
                "ld1d {{z0.d}}, p0/z, [{c}, {i}, lsl #3]\nfmul z1.d, z0.d, z3.d\n\
                 stnt1d {{z1.d}}, p0, [{b}, {i}, lsl #3]",
                b = in(reg) b, c = in(reg) c, s = in(reg) s.to_bits(), n = in(reg) n,
                out("v0") _, out("v1") _, out("v3") _,
            );
        } else {
            sve_loop!(
                "dup z3.d, {s}",
                "ld1d {{z0.d}}, p0/z, [{c}, {i}, lsl #3]\nfmul z1.d, z0.d, z3.d\n\
                 st1d {{z1.d}}, p0, [{b}, {i}, lsl #3]",
                b = in(reg) b, c = in(reg) c, s = in(reg) s.to_bits(), n = in(reg) n,
                out("v0") _, out("v1") _, out("v3") _,
            );
        }
    }
}

/// `c = a + b`.
///
/// # Safety
/// See the module.
pub(super) unsafe fn add<const NT: bool>(c: *mut f64, a: *const f64, b: *const f64, n: usize) {
    // SAFETY: as in `copy`.
    unsafe {
        if NT {
            sve_loop!(
                "",
                "ld1d {{z0.d}}, p0/z, [{a}, {i}, lsl #3]\nld1d {{z1.d}}, p0/z, [{b}, {i}, lsl #3]\n\
                 fadd z2.d, z0.d, z1.d\nstnt1d {{z2.d}}, p0, [{c}, {i}, lsl #3]",
                a = in(reg) a, b = in(reg) b, c = in(reg) c, n = in(reg) n,
                out("v0") _, out("v1") _, out("v2") _,
            );
        } else {
            sve_loop!(
                "",
                "ld1d {{z0.d}}, p0/z, [{a}, {i}, lsl #3]\nld1d {{z1.d}}, p0/z, [{b}, {i}, lsl #3]\n\
                 fadd z2.d, z0.d, z1.d\nst1d {{z2.d}}, p0, [{c}, {i}, lsl #3]",
                a = in(reg) a, b = in(reg) b, c = in(reg) c, n = in(reg) n,
                out("v0") _, out("v1") _, out("v2") _,
            );
        }
    }
}

/// `a = b + s * c`, fused (`FMLA`, one rounding, as the NEON and x86 kernels).
///
/// # Safety
/// See the module.
pub(super) unsafe fn triad<const NT: bool>(
    a: *mut f64,
    b: *const f64,
    c: *const f64,
    s: f64,
    n: usize,
) {
    // SAFETY: as in `copy`.
    unsafe {
        if NT {
            sve_loop!(
                "dup z3.d, {s}",
                "ld1d {{z0.d}}, p0/z, [{b}, {i}, lsl #3]\n\
                 ld1d {{z1.d}}, p0/z, [{c}, {i}, lsl #3]\nfmla z0.d, p0/m, z1.d, z3.d\n\
                 stnt1d {{z0.d}}, p0, [{a}, {i}, lsl #3]",
                a = in(reg) a, b = in(reg) b, c = in(reg) c, s = in(reg) s.to_bits(),
                n = in(reg) n, out("v0") _, out("v1") _, out("v3") _,
            );
        } else {
            sve_loop!(
                "dup z3.d, {s}",
                "ld1d {{z0.d}}, p0/z, [{b}, {i}, lsl #3]\n\
                 ld1d {{z1.d}}, p0/z, [{c}, {i}, lsl #3]\nfmla z0.d, p0/m, z1.d, z3.d\n\
                 st1d {{z0.d}}, p0, [{a}, {i}, lsl #3]",
                a = in(reg) a, b = in(reg) b, c = in(reg) c, s = in(reg) s.to_bits(),
                n = in(reg) n, out("v0") _, out("v1") _, out("v3") _,
            );
        }
    }
}

/// `c = v` (stores only).
///
/// # Safety
/// See the module.
pub(super) unsafe fn fill<const NT: bool>(c: *mut f64, v: f64, n: usize) {
    // SAFETY: as in `copy`.
    unsafe {
        if NT {
            sve_loop!(
                "dup z0.d, {v}",
                "stnt1d {{z0.d}}, p0, [{c}, {i}, lsl #3]",
                c = in(reg) c, v = in(reg) v.to_bits(), n = in(reg) n, out("v0") _,
            );
        } else {
            sve_loop!(
                "dup z0.d, {v}",
                "st1d {{z0.d}}, p0, [{c}, {i}, lsl #3]",
                c = in(reg) c, v = in(reg) v.to_bits(), n = in(reg) n, out("v0") _,
            );
        }
    }
}

/// Sum of `a` (loads only): lane-wise into one vector, reduced once at the end (`FADDV`).
///
/// # Safety
/// See the module.
pub(super) unsafe fn sum(a: *const f64, n: usize) -> f64 {
    let total: f64;
    // SAFETY: as in `copy`; the accumulator starts at zero and inactive lanes are left as
    // they are (`/m`), so the tail adds nothing it should not.
    unsafe {
        asm!(
            ".arch_extension sve",
            "mov {i}, #0",
            "dup z4.d, #0",
            "whilelo p0.d, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1d {{z0.d}}, p0/z, [{a}, {i}, lsl #3]",
            "fadd z4.d, p0/m, z4.d, z0.d",
            "incd {i}",
            "whilelo p0.d, {i}, {n}",
            "b.first 1b",
            "2:",
            "ptrue p1.d",
            "faddv {total:d}, p1, z4.d",
            i = out(reg) _,
            a = in(reg) a,
            n = in(reg) n,
            total = out(vreg) total,
            out("v0") _,
            out("v4") _,
            out("p0") _,
            out("p1") _,
            options(nostack, readonly)
        );
    }
    total
}
