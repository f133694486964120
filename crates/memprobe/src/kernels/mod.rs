//! The bandwidth kernels, STREAM's four plus read-only and write-only, in cached and
//! non-temporal variants, chosen at run time for the CPU. Architecture code stays here.

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "aarch64")]
mod sve;

mod portable;

/// STREAM's scalar.
pub const SCALAR: f64 = 3.0;
/// Value the write-only kernel stores.
pub const FILL: f64 = 0.5;

/// Elements per chunk boundary: chunks start on 512-byte boundaries, aligned for every ISA.
pub(crate) const CHUNK_ALIGN_ELEMENTS: usize = 64;

/// A bandwidth kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `c = a`.
    Copy,
    /// `b = s * c`.
    Scale,
    /// `c = a + b`.
    Add,
    /// `a = b + s * c`.
    Triad,
    /// Sum of `a` (loads only).
    Read,
    /// `c = constant` (stores only).
    Write,
    /// `c = a` through libc `memcpy`, as a reference.
    Memcpy,
}

impl Kernel {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Copy => "copy",
            Kernel::Scale => "scale",
            Kernel::Add => "add",
            Kernel::Triad => "triad",
            Kernel::Read => "read",
            Kernel::Write => "write",
            Kernel::Memcpy => "memcpy",
        }
    }

    /// STREAM-accounted bytes moved per element: loads plus stores, 8 bytes each.
    pub fn bytes_per_element(self) -> u64 {
        match self {
            Kernel::Copy | Kernel::Scale | Kernel::Memcpy => 16,
            Kernel::Add | Kernel::Triad => 24,
            Kernel::Read | Kernel::Write => 8,
        }
    }

    /// Bus traffic per STREAM byte with cached stores: a cached store first reads the line
    /// for ownership, so copy/scale move 3/2, add/triad 4/3 and fill 2 times the STREAM bytes.
    pub fn cached_bus_factor(self) -> f64 {
        match self {
            Kernel::Copy | Kernel::Scale | Kernel::Memcpy => 1.5,
            Kernel::Add | Kernel::Triad => 4.0 / 3.0,
            Kernel::Write => 2.0,
            Kernel::Read => 1.0,
        }
    }

    /// Whether the kernel stores (and so has a non-temporal variant).
    pub fn stores(self) -> bool {
        !matches!(self, Kernel::Read)
    }
}

/// The instruction set a kernel runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 512-bit vectors.
    Avx512,
    /// 256-bit vectors.
    Avx2,
    /// 128-bit vectors (every x86_64).
    Sse2,
    /// aarch64 SVE, vector-length agnostic (256-bit on Graviton3), with `STNT1D`
    /// non-temporal stores.
    Sve,
    /// aarch64 NEON, 128-bit vectors, with `STNP` non-temporal stores (every aarch64).
    Neon,
    /// Plain Rust loops, cached stores only.
    Portable,
}

impl Isa {
    /// The widest set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
            Isa::Sse2
        }
        // SVE where the core has it (Graviton3 and 4), NEON (part of every aarch64 CPU)
        // otherwise.
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("sve") {
                return Isa::Sve;
            }
            Isa::Neon
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        Isa::Portable
    }

    /// Whether this set has non-temporal stores.
    pub fn has_nontemporal(self) -> bool {
        self != Isa::Portable
    }

    /// Label in reports, e.g. `avx512-nt`.
    pub fn label(self, nontemporal: bool) -> String {
        let base = match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Sse2 => "sse2",
            Isa::Sve => "sve",
            Isa::Neon => "neon",
            Isa::Portable => "portable",
        };
        if nontemporal {
            format!("{base}-nt")
        } else {
            base.to_owned()
        }
    }
}

/// One worker's share of the three arrays (equal lengths, 512-byte aligned starts).
#[derive(Debug)]
pub(crate) struct Chunk<'a> {
    pub(crate) a: &'a mut [f64],
    pub(crate) b: &'a mut [f64],
    pub(crate) c: &'a mut [f64],
}

/// Runs `kernel` once over the chunk; returns the sum for `Read` (so it cannot be dropped).
#[inline(never)]
pub(crate) fn execute(isa: Isa, kernel: Kernel, nontemporal: bool, ch: &mut Chunk<'_>) -> f64 {
    let n = ch.a.len();
    assert!(
        ch.b.len() == n && ch.c.len() == n,
        "chunks of unequal length"
    );
    if kernel == Kernel::Memcpy {
        ch.c.copy_from_slice(ch.a);
        return 0.0;
    }
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        let aligned = |p: *const f64| (p as usize).is_multiple_of(64);
        assert!(
            aligned(ch.a.as_ptr()) && aligned(ch.b.as_ptr()) && aligned(ch.c.as_ptr()),
            "chunk not 64-byte aligned"
        );
        // SAFETY: slices are valid for n elements and 64-byte aligned (checked above); the ISA
        // was detected on this CPU by `Isa::detect`.
        return unsafe { execute_x86(isa, kernel, nontemporal, ch, n) };
    }
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::Neon {
        // SAFETY: the slices are valid for n elements, and NEON is on every aarch64 CPU.
        return unsafe { execute_neon(kernel, nontemporal, ch, n) };
    }
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::Sve {
        assert!(
            std::arch::is_aarch64_feature_detected!("sve"),
            "SVE kernels asked for on a CPU without SVE"
        );
        // SAFETY: the slices are valid for n elements, and the CPU has SVE (checked above).
        return unsafe { execute_sve(kernel, nontemporal, ch, n) };
    }
    let _ = (isa, nontemporal);
    match kernel {
        Kernel::Copy => portable::copy(ch.c, ch.a),
        Kernel::Scale => portable::scale(ch.b, ch.c, SCALAR),
        Kernel::Add => portable::add(ch.c, ch.a, ch.b),
        Kernel::Triad => portable::triad(ch.a, ch.b, ch.c, SCALAR),
        Kernel::Write => portable::fill(ch.c, FILL),
        Kernel::Read => return portable::sum(ch.a),
        Kernel::Memcpy => unreachable!("handled above"),
    }
    0.0
}

/// # Safety
/// Slices valid for `n` elements and 64-byte aligned; `isa` present on this CPU.
#[cfg(target_arch = "x86_64")]
unsafe fn execute_x86(isa: Isa, kernel: Kernel, nt: bool, ch: &mut Chunk<'_>, n: usize) -> f64 {
    let (a, b, c) = (ch.a.as_mut_ptr(), ch.b.as_mut_ptr(), ch.c.as_mut_ptr());
    macro_rules! run {
        ($m:ident) => {
            // SAFETY: forwarded from this function's contract.
            unsafe {
                match (kernel, nt) {
                    (Kernel::Copy, false) => x86::$m::copy::<false>(c, a, n),
                    (Kernel::Copy, true) => x86::$m::copy::<true>(c, a, n),
                    (Kernel::Scale, false) => x86::$m::scale::<false>(b, c, SCALAR, n),
                    (Kernel::Scale, true) => x86::$m::scale::<true>(b, c, SCALAR, n),
                    (Kernel::Add, false) => x86::$m::add::<false>(c, a, b, n),
                    (Kernel::Add, true) => x86::$m::add::<true>(c, a, b, n),
                    (Kernel::Triad, false) => x86::$m::triad::<false>(a, b, c, SCALAR, n),
                    (Kernel::Triad, true) => x86::$m::triad::<true>(a, b, c, SCALAR, n),
                    (Kernel::Write, false) => x86::$m::fill::<false>(c, FILL, n),
                    (Kernel::Write, true) => x86::$m::fill::<true>(c, FILL, n),
                    (Kernel::Read, _) => return x86::$m::sum(a, n),
                    (Kernel::Memcpy, _) => unreachable!("handled by the caller"),
                }
            }
        };
    }
    match isa {
        Isa::Avx512 => run!(avx512),
        Isa::Avx2 => run!(avx2),
        Isa::Sse2 | Isa::Sve | Isa::Neon | Isa::Portable => run!(sse2),
    }
    0.0
}

/// Runs `kernel` with the aarch64 kernels of module `$m` (`neon` or `sve`).
#[cfg(target_arch = "aarch64")]
macro_rules! execute_aarch64 {
    ($m:ident, $kernel:expr, $nt:expr, $ch:expr, $n:expr) => {{
        let (a, b, c) = ($ch.a.as_mut_ptr(), $ch.b.as_mut_ptr(), $ch.c.as_mut_ptr());
        let n = $n;
        match ($kernel, $nt) {
            (Kernel::Copy, false) => $m::copy::<false>(c, a, n),
            (Kernel::Copy, true) => $m::copy::<true>(c, a, n),
            (Kernel::Scale, false) => $m::scale::<false>(b, c, SCALAR, n),
            (Kernel::Scale, true) => $m::scale::<true>(b, c, SCALAR, n),
            (Kernel::Add, false) => $m::add::<false>(c, a, b, n),
            (Kernel::Add, true) => $m::add::<true>(c, a, b, n),
            (Kernel::Triad, false) => $m::triad::<false>(a, b, c, SCALAR, n),
            (Kernel::Triad, true) => $m::triad::<true>(a, b, c, SCALAR, n),
            (Kernel::Write, false) => $m::fill::<false>(c, FILL, n),
            (Kernel::Write, true) => $m::fill::<true>(c, FILL, n),
            (Kernel::Read, _) => return $m::sum(a, n),
            (Kernel::Memcpy, _) => unreachable!("handled by the caller"),
        }
        0.0
    }};
}

/// # Safety
/// Slices valid for `n` elements.
#[cfg(target_arch = "aarch64")]
unsafe fn execute_neon(kernel: Kernel, nt: bool, ch: &mut Chunk<'_>, n: usize) -> f64 {
    // SAFETY: forwarded from this function's contract; NEON is on every aarch64 CPU.
    unsafe { execute_aarch64!(neon, kernel, nt, ch, n) }
}

/// # Safety
/// Slices valid for `n` elements; the CPU has SVE.
#[cfg(target_arch = "aarch64")]
unsafe fn execute_sve(kernel: Kernel, nt: bool, ch: &mut Chunk<'_>, n: usize) -> f64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { execute_aarch64!(sve, kernel, nt, ch, n) }
}

/// What the arrays hold after each kernel, following STREAM's validation: the same recurrence
/// on three scalars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Model {
    pub(crate) a: f64,
    pub(crate) b: f64,
    pub(crate) c: f64,
}

impl Model {
    /// STREAM's initial values.
    pub(crate) const INITIAL: Model = Model {
        a: 1.0,
        b: 2.0,
        c: 0.0,
    };

    /// The state after one application of `kernel` (repeats give the same state).
    pub(crate) fn after(self, kernel: Kernel) -> Model {
        let Model { a, b, c } = self;
        match kernel {
            Kernel::Copy | Kernel::Memcpy => Model { c: a, ..self },
            Kernel::Scale => Model {
                b: SCALAR * c,
                ..self
            },
            Kernel::Add => Model { c: a + b, ..self },
            Kernel::Triad => Model {
                a: b + SCALAR * c,
                ..self
            },
            Kernel::Write => Model { c: FILL, ..self },
            Kernel::Read => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aligned_vec(n: usize, v: f64) -> Vec<f64> {
        // Over-allocate and use an aligned window via the buffer type in the real code; here a
        // Vec of f64 is 8-byte aligned, so test through an offset into a larger Vec.
        vec![v; n + 8]
    }

    fn window(v: &mut [f64]) -> &mut [f64] {
        let off = v.as_ptr().align_offset(64);
        let n = v.len() - 8;
        &mut v[off..off + n]
    }

    #[test]
    fn every_kernel_and_isa_computes_stream_values() {
        let mut isas = vec![Isa::Portable];
        let detected = Isa::detect();
        if detected != Isa::Portable {
            isas.push(Isa::Sse2);
        }
        if matches!(detected, Isa::Avx2 | Isa::Avx512) {
            isas.push(Isa::Avx2);
        }
        if detected == Isa::Avx512 {
            isas.push(Isa::Avx512);
        }
        if matches!(detected, Isa::Neon | Isa::Sve) {
            isas.retain(|i| *i == Isa::Portable);
            isas.push(Isa::Neon);
        }
        if detected == Isa::Sve {
            isas.push(Isa::Sve);
        }
        // 1003 elements: exercises the vector body and the scalar tail.
        for isa in isas {
            for nt in [false, true] {
                let (mut va, mut vb, mut vc) = (
                    aligned_vec(1003, 1.0),
                    aligned_vec(1003, 2.0),
                    aligned_vec(1003, 0.0),
                );
                let mut chunk = Chunk {
                    a: window(&mut va),
                    b: window(&mut vb),
                    c: window(&mut vc),
                };
                let mut model = Model::INITIAL;
                for k in [
                    Kernel::Read,
                    Kernel::Copy,
                    Kernel::Scale,
                    Kernel::Add,
                    Kernel::Triad,
                    Kernel::Write,
                    Kernel::Memcpy,
                ] {
                    let sum = execute(isa, k, nt && isa.has_nontemporal(), &mut chunk);
                    if k == Kernel::Read {
                        assert_eq!(sum, model.a * 1003.0, "{isa:?} read");
                    }
                    model = model.after(k);
                    for (name, arr, want) in [
                        ("a", &chunk.a, model.a),
                        ("b", &chunk.b, model.b),
                        ("c", &chunk.c, model.c),
                    ] {
                        assert!(
                            arr.iter().all(|x| *x == want),
                            "{isa:?} nt={nt} after {k:?}: {name} != {want}"
                        );
                    }
                }
            }
        }
    }

    /// Issue 15: NEON kernels (and SVE ones, on a CPU with SVE: qemu-aarch64's default CPU
    /// has it), cached and non-temporal, give what the portable kernels give on the same
    /// arrays (arbitrary values, and a length with a tail).
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_kernels_match_the_portable_ones_on_the_same_arrays() {
        let n = 1003;
        let start: Vec<[f64; 3]> = (0..n)
            .map(|i| {
                let x = i as f64;
                [x * 0.37 - 11.0, (x * 1.9).sin() * 1e3, 1.0 / (x + 0.5)]
            })
            .collect();
        for nt in [false, true] {
            for k in [
                Kernel::Read,
                Kernel::Copy,
                Kernel::Scale,
                Kernel::Add,
                Kernel::Triad,
                Kernel::Write,
            ] {
                let mut outcome = Vec::new();
                let mut isas = vec![Isa::Portable, Isa::Neon];
                if Isa::detect() == Isa::Sve {
                    isas.push(Isa::Sve);
                }
                for &isa in &isas {
                    let (mut va, mut vb, mut vc) = (
                        aligned_vec(n, 0.0),
                        aligned_vec(n, 0.0),
                        aligned_vec(n, 0.0),
                    );
                    let mut chunk = Chunk {
                        a: window(&mut va),
                        b: window(&mut vb),
                        c: window(&mut vc),
                    };
                    for (i, [a, b, c]) in start.iter().enumerate() {
                        (chunk.a[i], chunk.b[i], chunk.c[i]) = (*a, *b, *c);
                    }
                    let sum = execute(isa, k, nt && isa.has_nontemporal(), &mut chunk);
                    outcome.push((sum, chunk.a.to_vec(), chunk.b.to_vec(), chunk.c.to_vec()));
                }
                let portable = &outcome[0];
                for (isa, vector) in isas.iter().zip(&outcome).skip(1) {
                    // Summation order differs (lanes), so sums agree to rounding; every stored
                    // element agrees exactly but triad's, where the vector kernels fuse the
                    // multiply-add.
                    assert!(
                        (portable.0 - vector.0).abs() <= 1e-9 * portable.0.abs().max(1.0),
                        "{isa:?} {k:?} sums {} vs {}",
                        portable.0,
                        vector.0
                    );
                    for (name, p, q) in [
                        ("a", &portable.1, &vector.1),
                        ("b", &portable.2, &vector.2),
                        ("c", &portable.3, &vector.3),
                    ] {
                        for (i, (x, y)) in p.iter().zip(q.iter()).enumerate() {
                            assert!(
                                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                                "{isa:?} {k:?} nt={nt}: {name}[{i}] portable {x}, {y}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn stream_recurrence_matches_hand_values() {
        let m = Model::INITIAL
            .after(Kernel::Copy)
            .after(Kernel::Scale)
            .after(Kernel::Add)
            .after(Kernel::Triad);
        assert_eq!((m.a, m.b, m.c), (15.0, 3.0, 4.0));
    }
}
