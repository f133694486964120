//! Runs the bandwidth kernels on worker threads: first touch per worker, barrier-started
//! passes, a pass's time from the earliest start to the latest end, STREAM validation after.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use probe_core::host::CpuStat;
use probe_core::report::BandwidthResult;
use probe_core::stats::SampleSummary;

use crate::buffer::AlignedBuffer;
use crate::error::{MemError, Result};
use crate::kernels::{self, Chunk, Isa, Kernel, Model, CHUNK_ALIGN_ELEMENTS};
use crate::sys;

/// When a kernel has measured enough.
#[derive(Debug, Clone, Copy)]
pub struct PassPlan {
    /// Timed passes at least (the first, warm-up pass is extra and discarded).
    pub min_passes: u32,
    /// Time spent at least, all passes together.
    pub min_time: Duration,
    /// Hard stop.
    pub max_passes: u32,
}

/// The three STREAM arrays and what the kernels have done to them.
#[derive(Debug)]
pub(crate) struct Arrays {
    a: AlignedBuffer<f64>,
    b: AlignedBuffer<f64>,
    c: AlignedBuffer<f64>,
    n: usize,
    model: Model,
    /// Bytes of the arrays backed by huge pages.
    pub(crate) huge_page_bytes: u64,
}

/// Splits `0..n` into `t` ranges whose starts are aligned for every vector width.
pub(crate) fn chunk_ranges(n: usize, t: usize) -> Vec<Range<usize>> {
    let t = t.max(1);
    let per = n.div_ceil(t).div_ceil(CHUNK_ALIGN_ELEMENTS) * CHUNK_ALIGN_ELEMENTS;
    (0..t)
        .map(|i| (i * per).min(n)..((i + 1) * per).min(n))
        .collect()
}

fn pin(cpus: &[u32], i: usize) -> Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    let cpu = cpus[i % cpus.len()];
    sys::pin_to(cpu).map_err(|source| MemError::Pin { cpu, source })
}

impl Arrays {
    /// Allocates three arrays of `n` elements; `threads` workers first-touch their own chunks.
    pub(crate) fn new(n: usize, threads: usize, cpus: &[u32], huge_pages: bool) -> Result<Self> {
        let mut a = AlignedBuffer::<f64>::new(n, "array a")?;
        let mut b = AlignedBuffer::<f64>::new(n, "array b")?;
        let mut c = AlignedBuffer::<f64>::new(n, "array c")?;
        if huge_pages {
            for buf in [&a, &b, &c] {
                buf.advise_huge_pages();
            }
        }
        let init = Model::INITIAL;
        let ((pa, _), (pb, _), (pc, _)) = (a.raw_parts(), b.raw_parts(), c.raw_parts());
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = chunk_ranges(n, threads)
                .into_iter()
                .enumerate()
                .map(|(i, range)| {
                    s.spawn(move || -> Result<()> {
                        pin(cpus, i)?;
                        // SAFETY: chunk ranges are disjoint and inside the n-element buffers.
                        unsafe {
                            pa.write_range(range.clone(), init.a);
                            pb.write_range(range.clone(), init.b);
                            pc.write_range(range, init.c);
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| MemError::Config("a worker panicked".into()))??;
            }
            Ok(())
        })?;
        // SAFETY: the workers wrote every element of 0..n (the ranges cover it).
        unsafe {
            a.assume_initialised();
            b.assume_initialised();
            c.assume_initialised();
        }
        let huge_page_bytes = a.huge_page_bytes() + b.huge_page_bytes() + c.huge_page_bytes();
        Ok(Self {
            a,
            b,
            c,
            n,
            model: init,
            huge_page_bytes,
        })
    }

    /// Checks every element against the model, like STREAM's `checkSTREAMresults`.
    fn validate(&self, kernel: Kernel, implementation: &str) -> Result<()> {
        for (arr, want) in [
            (self.a.as_slice(), self.model.a),
            (self.b.as_slice(), self.model.b),
            (self.c.as_slice(), self.model.c),
        ] {
            if let Some((index, found)) = arr
                .iter()
                .enumerate()
                .find(|(_, x)| ((**x - want) / want.abs().max(1.0)).abs() > 1e-13)
            {
                return Err(MemError::Validation {
                    kernel: kernel.name().into(),
                    implementation: implementation.into(),
                    index,
                    found: *found,
                    expected: want,
                });
            }
        }
        Ok(())
    }
}

/// Per-pass (start, end) of one worker, and the sum its read kernel returned.
type WorkerTimes = (Vec<(Instant, Instant)>, f64);

/// One kernel variant at one thread count: every timed pass and the context around them.
#[derive(Debug, Clone)]
pub(crate) struct Measurement {
    pub(crate) result: BandwidthResult,
    /// Steal ticks while it ran.
    pub(crate) steal_ticks: u64,
}

/// Runs one kernel variant on `threads` workers until `plan` is satisfied.
pub(crate) fn measure(
    arrays: &mut Arrays,
    isa: Isa,
    kernel: Kernel,
    nontemporal: bool,
    threads: usize,
    cpus: &[u32],
    plan: PassPlan,
) -> Result<Measurement> {
    let n = arrays.n;
    let ranges = chunk_ranges(n, threads);
    let barrier = Barrier::new(threads);
    let stop = AtomicBool::new(false);
    let max_passes = plan.max_passes.max(plan.min_passes) as usize + 1;
    let cpu_before = CpuStat::read_current();
    let steal_before = sys::steal_ticks();
    let read_sums: Vec<f64>;
    let timings: Vec<Vec<(Instant, Instant)>> = {
        // Disjoint mutable chunks of the three arrays, one set per worker.
        let mut chunks = split3(
            arrays.a.as_mut_slice(),
            arrays.b.as_mut_slice(),
            arrays.c.as_mut_slice(),
            &ranges,
        );
        let results: Vec<Result<WorkerTimes>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .drain(..)
                .enumerate()
                .map(|(i, mut chunk)| {
                    let (barrier, stop) = (&barrier, &stop);
                    s.spawn(move || -> Result<WorkerTimes> {
                        pin(cpus, i)?;
                        let mut times = Vec::with_capacity(max_passes);
                        let mut sum = 0.0;
                        let first = Instant::now();
                        loop {
                            barrier.wait();
                            if stop.load(Ordering::Acquire) {
                                break;
                            }
                            let t0 = Instant::now();
                            sum += kernels::execute(isa, kernel, nontemporal, &mut chunk);
                            let t1 = Instant::now();
                            times.push((t0, t1));
                            if barrier.wait().is_leader() {
                                let timed = times.len() as u32 - 1;
                                let enough =
                                    timed >= plan.min_passes && first.elapsed() >= plan.min_time;
                                if enough || times.len() >= max_passes {
                                    stop.store(true, Ordering::Release);
                                }
                            }
                        }
                        Ok((times, sum))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(MemError::Config("a worker panicked".into())))
                })
                .collect()
        });
        let mut timings = Vec::new();
        let mut sums = Vec::new();
        for r in results {
            let (t, s) = r?;
            timings.push(t);
            sums.push(s);
        }
        read_sums = sums;
        timings
    };
    let cpu_after = CpuStat::read_current();
    let steal = match (steal_before, sys::steal_ticks()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    let implementation = if kernel == Kernel::Memcpy {
        "libc-memcpy".to_owned()
    } else {
        isa.label(nontemporal)
    };
    // STREAM validation: the arrays, and for the read kernel the sums.
    let passes_run = timings[0].len();
    if kernel == Kernel::Read {
        let want = arrays.model.a * n as f64 * passes_run as f64;
        let got: f64 = read_sums.iter().sum();
        if ((got - want) / want).abs() > 1e-9 {
            return Err(MemError::Validation {
                kernel: "read".into(),
                implementation: implementation.clone(),
                index: 0,
                found: got,
                expected: want,
            });
        }
    }
    arrays.model = arrays.model.after(kernel);
    arrays.validate(kernel, &implementation)?;

    // A pass lasts from the earliest worker start to the latest worker end; pass 0 is warm-up.
    let bytes_per_pass = kernel.bytes_per_element() * n as u64;
    let pass_ns: Vec<f64> = (1..passes_run)
        .map(|p| {
            let start = timings.iter().map(|t| t[p].0).min().expect("threads");
            let end = timings.iter().map(|t| t[p].1).max().expect("threads");
            end.duration_since(start).as_nanos().max(1) as f64
        })
        .collect();
    let rates: Vec<f64> = pass_ns
        .iter()
        .map(|ns| bytes_per_pass as f64 * 1e9 / ns)
        .collect();
    let summary = SampleSummary::from_values(&rates).expect("at least one timed pass");
    let first_start = timings
        .iter()
        .map(|t| t[1.min(passes_run - 1)].0)
        .min()
        .expect("threads");
    let last_end = timings
        .iter()
        .map(|t| t[passes_run - 1].1)
        .max()
        .expect("threads");
    let wall_ns = last_end.duration_since(first_start).as_nanos().max(1) as f64;
    let sustained = bytes_per_pass as f64 * rates.len() as f64 * 1e9 / wall_ns;
    let bus_factor = if nontemporal || kernel == Kernel::Read {
        1.0
    } else {
        kernel.cached_bus_factor()
    };
    let throttle = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => Some(b.since(&a)),
        _ => None,
    };
    Ok(Measurement {
        result: BandwidthResult {
            kernel: kernel.name().into(),
            stores: match (kernel, nontemporal) {
                (Kernel::Memcpy, _) => "libc",
                (Kernel::Read, _) => "none",
                (_, true) => "nontemporal",
                (_, false) => "cached",
            }
            .into(),
            implementation,
            threads: threads as u32,
            array_bytes: 3 * n as u64 * 8,
            bytes_per_pass,
            passes: rates.len() as u32,
            best_bytes_per_sec: summary.max,
            median_bytes_per_sec: summary.median,
            worst_bytes_per_sec: summary.min,
            cv: summary.cv().unwrap_or(0.0).abs(),
            bus_bytes_per_sec: summary.max * bus_factor,
            sustained_bytes_per_sec: sustained,
            throttled_periods: throttle.map(|t| t.nr_throttled),
            throttled_ns: throttle.map(|t| t.throttled_ns),
        },
        steal_ticks: steal,
    })
}

fn split3<'a>(
    mut a: &'a mut [f64],
    mut b: &'a mut [f64],
    mut c: &'a mut [f64],
    ranges: &[Range<usize>],
) -> Vec<Chunk<'a>> {
    let mut chunks = Vec::with_capacity(ranges.len());
    for r in ranges {
        let len = r.len();
        let (ha, ta) = a.split_at_mut(len);
        let (hb, tb) = b.split_at_mut(len);
        let (hc, tc) = c.split_at_mut(len);
        chunks.push(Chunk {
            a: ha,
            b: hb,
            c: hc,
        });
        (a, b, c) = (ta, tb, tc);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_with_aligned_starts() {
        for (n, t) in [(1000, 3), (64, 4), (1 << 20, 7), (10, 1)] {
            let ranges = chunk_ranges(n, t);
            assert_eq!(ranges.len(), t);
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, n);
            for w in ranges.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
            assert!(ranges
                .iter()
                .all(|r| r.start % CHUNK_ALIGN_ELEMENTS == 0 || r.start == n));
        }
    }

    #[test]
    fn measuring_small_arrays_validates_and_counts_passes() {
        let mut arrays = Arrays::new(1 << 16, 2, &[], false).unwrap();
        let plan = PassPlan {
            min_passes: 5,
            min_time: Duration::ZERO,
            max_passes: 100,
        };
        let isa = Isa::detect();
        for kernel in [
            Kernel::Read,
            Kernel::Copy,
            Kernel::Scale,
            Kernel::Add,
            Kernel::Triad,
        ] {
            let m = measure(&mut arrays, isa, kernel, false, 2, &[], plan).unwrap();
            assert_eq!(m.result.passes, 5);
            assert!(m.result.best_bytes_per_sec >= m.result.median_bytes_per_sec);
            assert!(m.result.median_bytes_per_sec >= m.result.worst_bytes_per_sec);
            assert!(m.result.worst_bytes_per_sec > 0.0);
        }
    }
}
