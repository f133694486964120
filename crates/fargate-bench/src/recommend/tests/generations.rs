//! Issue 25: a size whose tasks landed on more than one CPU generation is judged on the worst
//! generation, never on the median over them, and the answer shows the mix.

use super::*;
use crate::summary::{GenerationRows, GenerationShare};

const INTEL: &str = "Intel Xeon Platinum 8259CL (Cascade Lake)";
const AMD: &str = "AMD EPYC 7R13 (Milan)";

fn share(size: &str, generation: &str, tasks: u64, of: u64) -> GenerationShare {
    GenerationShare {
        size: at(size),
        generation: generation.into(),
        tasks,
        share: tasks as f64 / of as f64,
    }
}

fn group(size: &str, generation: &str, items: u64, best: SampleSummary) -> GenerationRows {
    GenerationRows {
        size: at(size),
        generation: generation.into(),
        items,
        tasks: items,
        network: vec![],
        memory_bandwidth: vec![triad(size, 1, best)],
    }
}

/// 1x2's seven memory tasks: four on Intel (triad 21..25 GB/s), three on AMD (11..13 GB/s);
/// their all-tasks row's interval (20..24 GB/s) clears 15 GB/s, AMD's does not. 2x4 ran on
/// AMD alone, at 16..20 GB/s.
fn mixed_run() -> Merged {
    let mut doc = run(
        "r1",
        vec![],
        vec![
            triad("1x2 X86_64", 1, seven(20e9, 22e9, 24e9)),
            triad("2x4 X86_64", 1, seven(16e9, 18e9, 20e9)),
        ],
    );
    let s = &mut doc.summary;
    s.cpu_generations = vec![
        share("1x2 X86_64", INTEL, 4, 7),
        share("1x2 X86_64", AMD, 3, 7),
        share("2x4 X86_64", AMD, 7, 7),
    ];
    s.by_generation = vec![
        group("1x2 X86_64", INTEL, 4, seven(21e9, 23e9, 25e9)),
        group("1x2 X86_64", AMD, 3, seven(11e9, 12e9, 13e9)),
    ];
    doc
}

#[test]
fn a_size_on_two_cpu_generations_is_judged_on_the_worse_and_shows_the_mix() {
    let rec = recommend_on(
        &[mixed_run()],
        &["memory.triad>=15GB/s"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(
        rec.pick.map(|o| o.to_string()).as_deref(),
        Some("2x4 X86_64")
    );
    let small = candidate(&rec, "1x2 X86_64");
    assert_eq!(small.standing, Standing::FallsShort);
    let check = &small.needs[0].checks[0];
    assert_eq!(check.generation.as_deref(), Some(AMD), "AMD's tasks decide");
    assert_eq!(check.judged, 11e9, "the low end of AMD's interval");
    assert!((check.margin - (11.0 / 15.0 - 1.0)).abs() < 1e-9);
    let mix: Vec<(&str, u64)> = (small.generations.iter())
        .map(|g| (g.generation.as_str(), g.tasks))
        .collect();
    assert_eq!(mix, [(INTEL, 4), (AMD, 3)]);
    assert!((small.generations[0].share - 4.0 / 7.0).abs() < 1e-12);
    assert!(
        rec.notes
            .iter()
            .any(|n| n.starts_with("1x2 X86_64's tasks ran on 2 CPU generations")),
        "{:?}",
        rec.notes
    );
    // The pick ran on one generation: its mix is that one, and nothing more is said.
    let pick = candidate(&rec, "2x4 X86_64");
    assert_eq!(pick.generations.len(), 1);
    assert_eq!(pick.needs[0].checks[0].generation, None);

    // The same run without its per-generation rows would have picked 1x2 on the median over
    // both generations: the grouping is what refuses it.
    let mut blind = mixed_run();
    blind.summary.by_generation.clear();
    let rec = recommend_on(
        &[blind],
        &["memory.triad>=15GB/s"],
        &Limits::default(),
        &prices(),
    );
    assert_eq!(
        rec.pick.map(|o| o.to_string()).as_deref(),
        Some("1x2 X86_64")
    );
}

/// Within each generation a memory kernel's best thread count is chosen; across generations
/// the worse of those bests decides.
#[test]
fn the_best_way_to_run_is_chosen_within_each_generation() {
    let mut doc = mixed_run();
    let g = &mut doc.summary.by_generation;
    // AMD gets a second thread count that meets the need: its best now is 16..20 GB/s.
    g[1].memory_bandwidth
        .push(triad("1x2 X86_64", 2, seven(16e9, 18e9, 20e9)));
    let rec = recommend_on(
        &[doc],
        &["memory.triad>=15GB/s"],
        &Limits::default(),
        &prices(),
    );
    let small = candidate(&rec, "1x2 X86_64");
    assert_eq!(small.standing, Standing::Pick);
    let check = &small.needs[0].checks[0];
    // Intel's best (21) is better than AMD's best (16): AMD's best decides.
    assert_eq!(
        (check.generation.as_deref(), check.judged),
        (Some(AMD), 16e9)
    );
}
