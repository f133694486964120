//! Load-to-use latency: dependent loads through a random cyclic permutation (Sattolo) of one
//! node per 64-byte line, so neither the prefetchers nor out-of-order execution can help.

use std::time::{Duration, Instant};

use probe_core::report::{CachePlateau, LatencyPoint, ParallelismPoint};
use rand::Rng;

use crate::buffer::AlignedBuffer;
use crate::cache::CacheLevel;
use crate::error::Result;

/// `u64` slots per 64-byte line; each line is one node whose first slot holds the next index.
const SLOTS_PER_LINE: usize = 8;
const LINE_BYTES: u64 = 64;

/// A buffer of lines linked into one random cycle.
#[derive(Debug)]
pub(crate) struct ChaseBuffer {
    buf: AlignedBuffer<u64>,
    lines: usize,
    /// Whether huge pages back the buffer (verified in smaps).
    pub(crate) huge_pages: bool,
}

impl ChaseBuffer {
    /// A buffer for working sets up to `max_bytes`.
    pub(crate) fn new(max_bytes: u64, huge_pages: bool) -> Result<Self> {
        let lines = (max_bytes / LINE_BYTES).max(64) as usize;
        let mut buf = AlignedBuffer::<u64>::new(lines * SLOTS_PER_LINE, "latency buffer")?;
        if huge_pages {
            buf.advise_huge_pages();
        }
        buf.fill(0);
        let huge = huge_pages && buf.huge_page_bytes() > 0;
        Ok(Self {
            buf,
            lines,
            huge_pages: huge,
        })
    }

    /// Links the first `lines` lines into one random cycle (Sattolo's algorithm gives a
    /// uniformly random permutation with a single cycle, so a walk visits every line once per lap).
    pub(crate) fn link(&mut self, lines: usize, rng: &mut impl Rng) {
        let lines = lines.clamp(2, self.lines);
        let mut order: Vec<u32> = (0..lines as u32).collect();
        for i in (1..lines).rev() {
            let j = rng.random_range(0..i);
            order.swap(i, j);
        }
        let slots = self.buf.as_mut_slice();
        for (i, next) in order.iter().enumerate() {
            slots[i * SLOTS_PER_LINE] = u64::from(*next) * SLOTS_PER_LINE as u64;
        }
    }

    /// Follows `loads` links from `start`; returns where it ended (so the walk is not dead code).
    #[inline(never)]
    pub(crate) fn chase(&self, start: usize, loads: u64) -> usize {
        let slots = self.buf.as_slice();
        let mut p = start;
        let mut left = loads;
        while left >= 8 {
            for _ in 0..8 {
                // SAFETY: `link` stores only indices of line starts below `lines * 8`, which is
                // inside `slots`; unchecked indexing keeps a bounds check off the measured
                // dependency chain (it cost about 0.3 ns per load at L1 latency of ~1.5 ns).
                p = unsafe { *slots.get_unchecked(p) } as usize;
            }
            left -= 8;
        }
        for _ in 0..left {
            p = slots[p] as usize;
        }
        p
    }

    /// `K` chains walked together, for memory-level parallelism.
    #[inline(never)]
    fn chase_many<const K: usize>(&self, mut ps: [usize; K], loads_each: u64) -> [usize; K] {
        let slots = self.buf.as_slice();
        for _ in 0..loads_each {
            for p in ps.iter_mut() {
                // SAFETY: as in `chase`: every stored index is a line start inside `slots`.
                *p = unsafe { *slots.get_unchecked(*p) } as usize;
            }
        }
        ps
    }

    /// Visits one lap from line 0 and returns how often each line was seen.
    #[cfg(test)]
    pub(crate) fn lap_visits(&self, lines: usize) -> Vec<u32> {
        let slots = self.buf.as_slice();
        let mut seen = vec![0u32; lines];
        let mut p = 0usize;
        for _ in 0..lines {
            seen[p / SLOTS_PER_LINE] += 1;
            p = slots[p] as usize;
        }
        seen
    }
}

/// Nanoseconds per load at one size, measured for at least `min_time`.
fn time_chase(buf: &ChaseBuffer, lines: usize, min_time: Duration) -> f64 {
    // Warm up: one lap brings the working set into whatever level holds it.
    let mut p = buf.chase(0, lines as u64);
    let mut loads = (lines as u64).max(100_000);
    loop {
        let t0 = Instant::now();
        p = buf.chase(p, loads);
        let elapsed = t0.elapsed();
        if elapsed >= min_time || loads > (1 << 34) {
            std::hint::black_box(p);
            return elapsed.as_nanos() as f64 / loads as f64;
        }
        let scale = min_time.as_secs_f64() / elapsed.as_secs_f64().max(1e-9);
        loads = ((loads as f64) * scale.clamp(1.5, 100.0)) as u64;
    }
}

/// Working-set sizes from 4 KiB to `max_bytes`, `per_octave` points per doubling.
pub(crate) fn sizes(max_bytes: u64, per_octave: u32) -> Vec<u64> {
    let per = f64::from(per_octave.max(1));
    let mut out = Vec::new();
    for k in 0.. {
        let size = (4096.0 * 2f64.powf(f64::from(k) / per)).round() as u64;
        if size > max_bytes {
            break;
        }
        let bytes = size / LINE_BYTES * LINE_BYTES;
        if out.last() != Some(&bytes) {
            out.push(bytes);
        }
    }
    out
}

/// The latency curve.
pub(crate) fn curve(
    buf: &mut ChaseBuffer,
    max_bytes: u64,
    per_octave: u32,
    min_time: Duration,
) -> Vec<LatencyPoint> {
    let mut rng = rand::rng();
    sizes(max_bytes, per_octave)
        .into_iter()
        .map(|bytes| {
            let lines = (bytes / LINE_BYTES) as usize;
            buf.link(lines, &mut rng);
            LatencyPoint {
                working_set_bytes: bytes,
                ns_per_load: time_chase(buf, lines, min_time),
                huge_pages: buf.huge_pages,
            }
        })
        .collect()
}

/// Loads per unit time with 1, 2, 4, 8 and 16 chains at `bytes`.
pub(crate) fn parallelism(
    buf: &mut ChaseBuffer,
    bytes: u64,
    min_time: Duration,
) -> Vec<ParallelismPoint> {
    let lines = ((bytes / LINE_BYTES) as usize).min(buf.lines);
    buf.link(lines, &mut rand::rng());
    // Starting points spread evenly along the one cycle, so the chains never meet.
    let mut along = Vec::with_capacity(lines);
    let mut p = 0usize;
    for _ in 0..lines {
        along.push(p);
        p = buf.buf.as_slice()[p] as usize;
    }
    let starts = |k: usize| -> Vec<usize> { (0..k).map(|i| along[i * lines / k]).collect() };
    let loads_each = (lines as u64).max(200_000);
    let mut points = Vec::new();
    let mut base = 0.0;
    for k in [1usize, 2, 4, 8, 16] {
        let s = starts(k);
        let mut loads = loads_each;
        let ns = loop {
            let t0 = Instant::now();
            let end = match k {
                1 => vec![buf.chase(s[0], loads)],
                2 => buf
                    .chase_many::<2>(s[..2].try_into().expect("2"), loads)
                    .to_vec(),
                4 => buf
                    .chase_many::<4>(s[..4].try_into().expect("4"), loads)
                    .to_vec(),
                8 => buf
                    .chase_many::<8>(s[..8].try_into().expect("8"), loads)
                    .to_vec(),
                _ => buf
                    .chase_many::<16>(s[..16].try_into().expect("16"), loads)
                    .to_vec(),
            };
            std::hint::black_box(end);
            let elapsed = t0.elapsed();
            if elapsed >= min_time || loads > (1 << 32) {
                break elapsed.as_nanos() as f64 / (loads * k as u64) as f64;
            }
            loads *= 2;
        };
        if k == 1 {
            base = ns;
        }
        points.push(ParallelismPoint {
            chains: k as u32,
            working_set_bytes: lines as u64 * LINE_BYTES,
            ns_per_load: ns,
            speedup: if ns > 0.0 { base / ns } else { 0.0 },
        });
    }
    points
}

/// Flat stretches of the curve, named L1, L2, ... and DRAM, with what sysfs claims beside them.
///
/// Consecutive points whose latency rises by less than `STEP` belong to one plateau; plateaus
/// need at least two points (single points are transitions between levels).
pub fn detect_plateaus(points: &[LatencyPoint], claimed: &[CacheLevel]) -> Vec<CachePlateau> {
    /// Largest rise from a run's first point that still counts as the same run.
    const STEP: f64 = 1.2;
    /// Neighbouring runs closer than this are one level whose latency creeps up (TLB misses).
    const SAME_LEVEL: f64 = 1.35;
    /// A last level this much slower than the one before is main memory.
    const DRAM_JUMP: f64 = 3.0;
    let mut runs: Vec<Vec<&LatencyPoint>> = Vec::new();
    for p in points {
        match runs.last_mut() {
            Some(run) if p.ns_per_load <= run[0].ns_per_load * STEP => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    let median = |run: &[&LatencyPoint]| {
        let mut lat: Vec<f64> = run.iter().map(|p| p.ns_per_load).collect();
        lat.sort_by(f64::total_cmp);
        probe_core::stats::median_of_sorted(&lat)
    };
    // Single points are transitions between levels; neighbours of similar latency merge.
    let mut levels: Vec<Vec<&LatencyPoint>> = Vec::new();
    for run in runs.into_iter().filter(|r| r.len() >= 2) {
        match levels.last_mut() {
            Some(prev) if median(&run) < median(prev) * SAME_LEVEL => prev.extend(run),
            _ => levels.push(run),
        }
    }
    let llc = claimed.iter().map(|c| c.size_bytes).max();
    let count = levels.len();
    let medians: Vec<f64> = levels.iter().map(|l| median(l)).collect();
    levels
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let beyond_llc = llc.is_some_and(|l| run[0].working_set_bytes > l);
            let jump = i > 0 && medians[i] >= medians[i - 1] * DRAM_JUMP;
            let is_dram = i + 1 == count && count > 1 && (beyond_llc || jump);
            let level = if is_dram {
                "DRAM".to_owned()
            } else {
                format!("L{}", i + 1)
            };
            let claimed_bytes = if is_dram {
                None
            } else {
                claimed
                    .iter()
                    .find(|c| usize::from(c.level) == i + 1)
                    .map(|c| c.size_bytes)
            };
            CachePlateau {
                level,
                up_to_bytes: run.last().expect("non-empty").working_set_bytes,
                ns_per_load: medians[i],
                claimed_bytes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chase_visits_every_node_exactly_once_per_lap() {
        let mut buf = ChaseBuffer::new(1 << 20, false).unwrap();
        let mut rng = rand::rng();
        for lines in [2usize, 3, 64, 1000, 16384] {
            buf.link(lines, &mut rng);
            let seen = buf.lap_visits(lines);
            assert!(seen.iter().all(|n| *n == 1), "{lines} lines");
            // And the walk returns to its start after exactly one lap.
            assert_eq!(buf.chase(0, lines as u64), 0);
        }
    }

    #[test]
    fn sizes_span_octaves() {
        let s = sizes(1 << 20, 4);
        assert_eq!(s[0], 4096);
        assert_eq!(*s.last().unwrap(), 1 << 20);
        assert_eq!(s.len(), 8 * 4 + 1);
    }

    fn pt(bytes: u64, ns: f64) -> LatencyPoint {
        LatencyPoint {
            working_set_bytes: bytes,
            ns_per_load: ns,
            huge_pages: false,
        }
    }

    #[test]
    fn plateaus_follow_the_steps_of_the_curve() {
        let curve = [
            pt(4 << 10, 1.2),
            pt(16 << 10, 1.2),
            pt(32 << 10, 1.3),
            pt(64 << 10, 3.0), // transition
            pt(128 << 10, 4.5),
            pt(512 << 10, 4.8),
            pt(2 << 20, 15.0),
            pt(8 << 20, 17.0),
            pt(16 << 20, 100.0),
            pt(24 << 20, 105.0),
            pt(64 << 20, 130.0),
            pt(256 << 20, 140.0),
        ];
        let claimed = [
            CacheLevel {
                level: 1,
                kind: "Data".into(),
                size_bytes: 32 << 10,
            },
            CacheLevel {
                level: 2,
                kind: "Unified".into(),
                size_bytes: 1 << 20,
            },
            CacheLevel {
                level: 3,
                kind: "Unified".into(),
                size_bytes: 32 << 20,
            },
        ];
        let p = detect_plateaus(&curve, &claimed);
        let levels: Vec<&str> = p.iter().map(|x| x.level.as_str()).collect();
        assert_eq!(levels, ["L1", "L2", "L3", "DRAM"]);
        assert_eq!(p[0].up_to_bytes, 32 << 10);
        assert_eq!(p[0].claimed_bytes, Some(32 << 10));
        // 100-105 and 130-140 ns are one level whose latency creeps up with TLB misses.
        assert!(
            (p[3].ns_per_load - 117.5).abs() < 1e-9,
            "{}",
            p[3].ns_per_load
        );
        assert_eq!(p[3].up_to_bytes, 256 << 20);
        assert_eq!(p[3].claimed_bytes, None);
    }

    #[test]
    fn a_small_working_set_is_fast_and_a_large_one_slower() {
        let mut buf = ChaseBuffer::new(64 << 20, false).unwrap();
        let points = curve(&mut buf, 64 << 20, 1, Duration::from_millis(5));
        let first = points.first().unwrap().ns_per_load;
        let last = points.last().unwrap().ns_per_load;
        assert!(first < 10.0, "L1 load took {first} ns");
        assert!(last > 3.0 * first, "64 MiB {last} ns vs 4 KiB {first} ns");
    }
}
