//! aarch64 kernels: NEON, 128-bit registers, 8 doubles (64 bytes, one cache line) per step,
//! with cached stores (`ST1`) or non-temporal pair stores (`STNP`), which hint the core not to
//! keep the lines it writes (Neoverse cores stream such writes past the caches).
//!
//! # Safety
//! Every function takes raw pointers valid for `n` elements, 16-byte aligned (chunks start on
//! 512-byte boundaries); NEON is part of every aarch64 CPU.

use std::arch::aarch64::{
    float64x2_t, vaddq_f64, vdupq_n_f64, vfmaq_n_f64, vld1q_f64, vmulq_n_f64, vst1q_f64,
};
use std::arch::asm;

/// Doubles per loop step: one 64-byte line.
const STEP: usize = 8;

/// Stores four registers (one line) at `dst`, non-temporally when `NT`.
///
/// # Safety
/// `dst` valid for 8 elements.
#[inline(always)]
unsafe fn store_line<const NT: bool>(dst: *mut f64, v: [float64x2_t; 4]) {
    // SAFETY: forwarded from this function's contract; STNP of two q registers writes exactly
    // 32 bytes at the address, and so twice covers the 64 bytes the caller owns.
    unsafe {
        if NT {
            asm!(
                "stnp {a:q}, {b:q}, [{p}]",
                "stnp {c:q}, {d:q}, [{p}, #32]",
                p = in(reg) dst,
                a = in(vreg) v[0],
                b = in(vreg) v[1],
                c = in(vreg) v[2],
                d = in(vreg) v[3],
                options(nostack, preserves_flags)
            );
        } else {
            for (k, x) in v.into_iter().enumerate() {
                vst1q_f64(dst.add(2 * k), x);
            }
        }
    }
}

/// Loads one line at `src`.
///
/// # Safety
/// `src` valid for 8 elements.
#[inline(always)]
unsafe fn load_line(src: *const f64) -> [float64x2_t; 4] {
    // SAFETY: forwarded from this function's contract.
    unsafe { [0, 2, 4, 6].map(|k| vld1q_f64(src.add(k))) }
}

/// Runs `line` on every whole line, then `tail` on each remaining element.
#[inline(always)]
fn lines(n: usize, mut line: impl FnMut(usize), mut tail: impl FnMut(usize)) {
    let whole = n - n % STEP;
    let mut i = 0;
    while i < whole {
        line(i);
        i += STEP;
    }
    for j in whole..n {
        tail(j);
    }
}

/// `c = a`.
///
/// # Safety
/// See the module.
pub(super) unsafe fn copy<const NT: bool>(c: *mut f64, a: *const f64, n: usize) {
    // SAFETY: indices stay below `n` (see the module).
    unsafe {
        lines(
            n,
            |i| store_line::<NT>(c.add(i), load_line(a.add(i))),
            |j| *c.add(j) = *a.add(j),
        );
    }
}

/// `b = s * c`.
///
/// # Safety
/// See the module.
pub(super) unsafe fn scale<const NT: bool>(b: *mut f64, c: *const f64, s: f64, n: usize) {
    // SAFETY: indices stay below `n` (see the module).
    unsafe {
        lines(
            n,
            |i| store_line::<NT>(b.add(i), load_line(c.add(i)).map(|x| vmulq_n_f64(x, s))),
            |j| *b.add(j) = s * *c.add(j),
        );
    }
}

/// `c = a + b`.
///
/// # Safety
/// See the module.
pub(super) unsafe fn add<const NT: bool>(c: *mut f64, a: *const f64, b: *const f64, n: usize) {
    // SAFETY: indices stay below `n` (see the module).
    unsafe {
        lines(
            n,
            |i| {
                let (x, y) = (load_line(a.add(i)), load_line(b.add(i)));
                store_line::<NT>(c.add(i), [0, 1, 2, 3].map(|k| vaddq_f64(x[k], y[k])));
            },
            |j| *c.add(j) = *a.add(j) + *b.add(j),
        );
    }
}

/// `a = b + s * c`, fused (one rounding, as STREAM's compiled C gets with FMA).
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
    // SAFETY: indices stay below `n` (see the module).
    unsafe {
        lines(
            n,
            |i| {
                let (x, y) = (load_line(b.add(i)), load_line(c.add(i)));
                store_line::<NT>(a.add(i), [0, 1, 2, 3].map(|k| vfmaq_n_f64(x[k], y[k], s)));
            },
            |j| *a.add(j) = (*c.add(j)).mul_add(s, *b.add(j)),
        );
    }
}

/// `c = v` (stores only).
///
/// # Safety
/// See the module.
pub(super) unsafe fn fill<const NT: bool>(c: *mut f64, v: f64, n: usize) {
    // SAFETY: indices stay below `n` (see the module).
    unsafe {
        let line = [vdupq_n_f64(v); 4];
        lines(n, |i| store_line::<NT>(c.add(i), line), |j| *c.add(j) = v);
    }
}

/// Sum of `a` (loads only), in four accumulators of two lanes.
///
/// # Safety
/// See the module.
pub(super) unsafe fn sum(a: *const f64, n: usize) -> f64 {
    // SAFETY: indices stay below `n` (see the module).
    unsafe {
        let mut acc = [vdupq_n_f64(0.0); 4];
        let mut rest = 0.0;
        lines(
            n,
            |i| {
                let x = load_line(a.add(i));
                for k in 0..4 {
                    acc[k] = vaddq_f64(acc[k], x[k]);
                }
            },
            |j| rest += *a.add(j),
        );
        let mut lanes = [0.0f64; 8];
        for (k, v) in acc.into_iter().enumerate() {
            vst1q_f64(lanes.as_mut_ptr().add(2 * k), v);
        }
        lanes.iter().sum::<f64>() + rest
    }
}
