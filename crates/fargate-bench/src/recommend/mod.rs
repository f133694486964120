//! `fargate-bench recommend`: the cheapest size whose measured figures meet every need.
//!
//! The operator names what the service needs ([`Need`]: a baseline, a burst and how long it
//! lasts, a round trip's p99, a memory kernel's bandwidth, the task's memory) and which
//! architectures and capacity providers it may use ([`Limits`]). Every size a run measured is
//! an [`Offer`]: a task size, the architecture its probes ran on (the row's, else what the
//! probes reported) and the capacity its run recorded. Each need is judged at each offer (a
//! [`Verdict`]) on the end of the figure's interval the need must clear, never the median. A
//! figure a size did not measure is "not measured" there, never interpolated from its
//! neighbours, so such a size is never recommended.
//!
//! Offers are ranked by price per task-hour (the price table, region and capacity given;
//! compared to the micro-dollar, so float noise makes no order), then by the larger smallest
//! margin (more room at one price), then by size (vCPU, memory), X86_64 before ARM64, and
//! on demand before Spot: a total order, so the answer is the same on every run. The first
//! that meets every need is the pick, the next [`RUNNERS_UP`] are its runners-up; cheaper
//! offers that fall short say by how much, and needs no offer meets or measured are listed.
//!
//! Pure: it reads merged documents and a price table, and does no I/O.

mod judge;
pub mod need;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};

use crate::error::{BenchError, Result};
use crate::figure::judged_figures;
use crate::sizes::{Arch, Capacity, Prices, TaskSize};
use crate::store::RunMeta;
use crate::summary::{Merged, Placement};
pub use judge::{judged_value, Basis, Check, Verdict};
pub use need::{Need, Op, Quantity, Target};

/// Offers named after the pick that also meet every need.
pub const RUNNERS_UP: usize = 3;

/// Which offers may be recommended: empty lists allow any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Architectures allowed.
    pub arches: Vec<Arch>,
    /// Capacity providers allowed.
    pub capacities: Vec<Capacity>,
}

impl Limits {
    fn allow(&self, offer: &Offer) -> bool {
        let arch = self.arches.is_empty() || offer.arch.is_some_and(|a| self.arches.contains(&a));
        arch && (self.capacities.is_empty() || self.capacities.contains(&offer.capacity))
    }
}

/// What a task may be given: a size, an architecture and a capacity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// The task size, written `1x2`.
    #[serde(serialize_with = "as_text")]
    pub size: TaskSize,
    /// The architecture; `None` when neither the run nor its probes named a Fargate one.
    pub arch: Option<Arch>,
    /// The capacity provider.
    pub capacity: Capacity,
}

fn as_text<S: Serializer>(size: &TaskSize, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(size)
}

/// An offer's place in size order: size, architecture, Spot.
type OfferKey = (TaskSize, Option<Arch>, bool);

impl Offer {
    /// Size, then X86_64 before ARM64, then on demand before Spot.
    fn order(&self) -> OfferKey {
        (self.size, self.arch, self.capacity == Capacity::Spot)
    }
}

impl std::fmt::Display for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.arch {
            Some(a) => write!(f, "{} {a}", self.size)?,
            None => write!(f, "{} (architecture unknown)", self.size)?,
        }
        if self.capacity == Capacity::Spot {
            f.write_str(" Spot")?;
        }
        Ok(())
    }
}

/// Where an offer stands in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The cheapest offer that meets every need.
    Pick,
    /// One of the next [`RUNNERS_UP`] that do.
    RunnerUp,
    /// Meets every need, after the runners-up.
    Meets,
    /// Misses a need it measured.
    FallsShort,
    /// Meets what it measured, but did not measure a need.
    NotJudged,
}

/// One offer and every need judged at it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// What it is.
    pub offer: Offer,
    /// USD per task-hour, when the price table has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
    /// Where it stands.
    pub standing: Standing,
    /// One verdict per need, in the needs' order.
    pub needs: Vec<Verdict>,
    /// The runs that measured it.
    pub runs: Vec<String>,
    /// The CPU generations its tasks ran on, most tasks first, over every run that measured
    /// it: with more than one, each need was judged on the worst.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generations: Vec<GenerationCount>,
}

/// How many of an offer's tasks ran on one CPU generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationCount {
    /// The generation (`AMD EPYC 7R13 (Milan)`).
    pub generation: String,
    /// Its tasks.
    pub tasks: u64,
    /// Its share of the offer's tasks, 0 to 1.
    pub share: f64,
}

/// The generation mix of an offer's sources, most tasks first.
fn generation_mix(sources: &[judge::Source<'_>]) -> Vec<GenerationCount> {
    let mut tasks: BTreeMap<&str, u64> = BTreeMap::new();
    for src in sources {
        for g in src.summary.generation_mix(src.placement) {
            *tasks.entry(g.generation.as_str()).or_default() += g.tasks;
        }
    }
    let total: u64 = tasks.values().sum();
    let mut mix: Vec<GenerationCount> = tasks
        .into_iter()
        .map(|(generation, n)| GenerationCount {
            generation: generation.to_owned(),
            tasks: n,
            share: n as f64 / total.max(1) as f64,
        })
        .collect();
    mix.sort_by(|a, b| b.tasks.cmp(&a.tasks).then(a.generation.cmp(&b.generation)));
    mix
}

impl Candidate {
    /// The smallest margin over every need it measured.
    pub fn margin(&self) -> Option<f64> {
        self.needs
            .iter()
            .filter_map(Verdict::margin)
            .min_by(f64::total_cmp)
    }

    fn meets_all(&self) -> bool {
        self.needs.iter().all(|v| v.meets)
    }

    fn falls_short(&self) -> bool {
        self.needs.iter().any(|v| !v.meets && !v.checks.is_empty())
    }
}

/// A need no offer meets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Index of the need.
    pub need: usize,
    /// Why, in words.
    pub why: String,
    /// The offer that came closest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closest: Option<Closest>,
}

/// The offer that came closest to a need no offer meets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closest {
    /// The offer.
    pub offer: Offer,
    /// Its check with the smallest margin.
    pub check: Check,
}

/// What `recommend` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The needs, as parsed.
    pub needs: Vec<Need>,
    /// Region whose prices apply.
    pub region: String,
    /// Date of those prices.
    pub prices_as_of: String,
    /// The cheapest offer meeting every need.
    pub pick: Option<Offer>,
    /// Every offer within the limits, ranked (see the module doc).
    pub candidates: Vec<Candidate>,
    /// Needs some offer measured but none meets.
    pub unmet: Vec<Gap>,
    /// Needs no offer measured.
    pub not_measured: Vec<Gap>,
    /// What to know before trusting the answer.
    pub notes: Vec<String>,
}

impl Recommendation {
    /// Candidates of these standings, in rank order.
    pub fn standing(&self, of: &[Standing]) -> impl Iterator<Item = &Candidate> {
        let of = of.to_vec();
        self.candidates
            .iter()
            .filter(move |c| of.contains(&c.standing))
    }

    /// The pick, or [`BenchError::NothingMeets`] saying what no size meets or measured (for
    /// the exit status, once the answer is written).
    ///
    /// # Errors
    /// [`BenchError::NothingMeets`] when no offer meets every need.
    pub fn picked(&self) -> Result<Offer> {
        if let Some(offer) = self.pick {
            return Ok(offer);
        }
        let named = |gaps: &[Gap]| -> String {
            let texts: Vec<&str> = gaps
                .iter()
                .map(|g| self.needs[g.need].text.as_str())
                .collect();
            texts.join(", ")
        };
        let mut why = "no measured size meets every need".to_owned();
        if !self.unmet.is_empty() {
            why.push_str(&format!("; none meets {}", named(&self.unmet)));
        }
        if !self.not_measured.is_empty() {
            why.push_str(&format!(
                "; none measured {} (run the tests that measure it)",
                named(&self.not_measured)
            ));
        }
        if self.unmet.is_empty() && self.not_measured.is_empty() && !self.candidates.is_empty() {
            why.push_str(": each need is met somewhere, never all at one size");
        }
        why.push_str("; measure more sizes, or relax a need");
        Err(BenchError::NothingMeets { why })
    }

    /// Candidates ranked before the pick (all of them when there is none).
    pub fn cheaper_than_pick(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates
            .iter()
            .take_while(|c| c.standing != Standing::Pick)
    }
}

/// The capacity a run's tasks ran on, and a note when it is not recorded.
fn capacity_of(meta: &RunMeta) -> (Capacity, Option<String>) {
    let id = &meta.run_id;
    if let Some(c) = meta.capacity {
        return (c, None);
    }
    if meta.backend != "ecs" {
        let note = format!(
            "run {id} ran on the {} backend: its sizes were emulated on one machine, and are \
             priced as FARGATE",
            meta.backend
        );
        return (Capacity::OnDemand, Some(note));
    }
    match &meta.suite.ecs {
        Some(ecs) => (
            Capacity::from_provider(&ecs.capacity_provider),
            Some(format!(
                "run {id} does not record its capacity provider: taken from its suite's [ecs] \
                 table ({})",
                ecs.capacity_provider
            )),
        ),
        None => (
            Capacity::OnDemand,
            Some(format!(
                "run {id} does not record its capacity provider (written before it was \
                 recorded): taken as FARGATE"
            )),
        ),
    }
}

/// The architecture of a placement: its own, else the one its probes reported.
fn arch_of(run: &Merged, p: Placement) -> Option<Arch> {
    p.arch.or_else(|| {
        run.hosts
            .iter()
            .filter(|h| h.placement == p)
            .find_map(|h| h.arch)
    })
}

/// Judges every need at every offer the runs measured, within `limits`, and ranks them at
/// `prices` (its table and region; each offer at its own architecture and capacity).
///
/// # Errors
/// [`BenchError::Need`] for a need naming a test label no run has, or a figure its kind has
/// not.
pub fn recommend(
    runs: &[Merged],
    needs: &[Need],
    limits: &Limits,
    prices: &Prices,
) -> Result<Recommendation> {
    for need in needs {
        if let Target::Figure(name) = &need.target {
            name.check(runs.iter().map(|r| &r.summary))
                .map_err(|why| BenchError::Need {
                    need: need.text.clone(),
                    why,
                })?;
        }
    }
    let mut notes = Vec::new();
    let figures: Vec<_> = runs.iter().map(|r| judged_figures(&r.summary)).collect();
    // Each offer once, in size order, with every run's rows that measured it.
    let mut offers: BTreeMap<OfferKey, (Offer, Vec<judge::Source<'_>>)> = BTreeMap::new();
    for (run, figures) in runs.iter().zip(&figures) {
        let s = &run.summary;
        let (capacity, note) = capacity_of(&s.run);
        notes.extend(note);
        let placements: BTreeSet<Placement> = (s.network.iter().map(|r| r.size))
            .chain(s.memory_bandwidth.iter().map(|r| r.size))
            .chain(s.memory_latency.iter().map(|r| r.size))
            .collect();
        for placement in placements {
            let offer = Offer {
                size: placement.size,
                arch: arch_of(run, placement),
                capacity,
            };
            let source = judge::Source {
                run_id: &s.run.run_id,
                summary: s,
                figures,
                placement,
            };
            offers
                .entry(offer.order())
                .or_insert_with(|| (offer, Vec::new()))
                .1
                .push(source);
        }
    }
    let (allowed, left_out): (Vec<_>, Vec<_>) =
        offers.into_values().partition(|(o, _)| limits.allow(o));
    if !left_out.is_empty() {
        let names: Vec<String> = left_out.iter().map(|(o, _)| o.to_string()).collect();
        notes.push(format!(
            "left out by --arch/--capacity: {}",
            names.join(", ")
        ));
    }
    let mut candidates: Vec<Candidate> = allowed
        .into_iter()
        .map(|(offer, sources)| {
            let mut runs: Vec<String> = sources.iter().map(|s| s.run_id.to_owned()).collect();
            runs.dedup();
            if runs.len() > 1 {
                notes.push(format!(
                    "{offer} was measured by runs {}: each need is judged on the worse",
                    runs.join(" and ")
                ));
            }
            let generations = generation_mix(&sources);
            if generations.len() > 1 {
                let mix: Vec<String> = generations
                    .iter()
                    .map(|g| format!("{} {:.0} %", g.generation, g.share * 100.0))
                    .collect();
                notes.push(format!(
                    "{offer}'s tasks ran on {} CPU generations ({}): each need is judged on the                      worst of them",
                    generations.len(),
                    mix.join(", ")
                ));
            }
            Candidate {
                cost_per_hour: offer.arch.and_then(|arch| {
                    prices
                        .table
                        .hourly_on(&prices.region, arch, offer.capacity, offer.size)
                        .ok()
                }),
                standing: Standing::NotJudged,
                needs: (needs.iter().enumerate())
                    .map(|(i, n)| judge::judge(n, i, offer.size, &sources))
                    .collect(),
                offer,
                runs,
                generations,
            }
        })
        .collect();
    candidates.sort_by(rank);
    let mut meeting = 0;
    for c in &mut candidates {
        c.standing = if c.meets_all() {
            meeting += 1;
            match meeting {
                1 => Standing::Pick,
                n if n <= 1 + RUNNERS_UP => Standing::RunnerUp,
                _ => Standing::Meets,
            }
        } else if c.falls_short() {
            Standing::FallsShort
        } else {
            Standing::NotJudged
        };
    }
    let (unmet, not_measured) = gaps(needs, &candidates);
    notes.extend(basis_notes(&candidates));
    let pick = candidates
        .iter()
        .find(|c| c.standing == Standing::Pick)
        .map(|c| c.offer);
    if let Some(c) = candidates.iter().find(|c| c.standing == Standing::Pick) {
        if c.cost_per_hour.is_none() {
            notes.push(format!(
                "no price is known for {} in {}: ranked after every priced size (pass --prices \
                 FILE or --region)",
                c.offer, prices.region
            ));
        }
    }
    Ok(Recommendation {
        needs: needs.to_vec(),
        region: prices.region.clone(),
        prices_as_of: prices.as_of().to_owned(),
        pick,
        candidates,
        unmet,
        not_measured,
        notes,
    })
}

/// The ranking of the module doc.
fn rank(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    let micro_usd = |c: &Candidate| {
        c.cost_per_hour
            .map_or(i64::MAX, |usd| (usd * 1e6).round() as i64)
    };
    let margin = |c: &Candidate| c.margin().unwrap_or(f64::NEG_INFINITY);
    micro_usd(a)
        .cmp(&micro_usd(b))
        .then_with(|| margin(b).total_cmp(&margin(a)))
        .then_with(|| a.offer.order().cmp(&b.offer.order()))
}

/// Needs some offer measured and none meets, and needs none measured.
fn gaps(needs: &[Need], candidates: &[Candidate]) -> (Vec<Gap>, Vec<Gap>) {
    let (mut unmet, mut not_measured) = (Vec::new(), Vec::new());
    for need in 0..needs.len() {
        let verdicts = || candidates.iter().map(move |c| (c, &c.needs[need]));
        if verdicts().any(|(_, v)| v.meets) {
            continue;
        }
        let closest = verdicts()
            .filter_map(|(c, v)| Some((c, v.margin()?, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match closest {
            Some((c, _, v)) => {
                let check = v.checks.iter().min_by(|a, b| a.margin.total_cmp(&b.margin));
                unmet.push(Gap {
                    need,
                    why: "no measured size meets it".into(),
                    closest: check.map(|check| Closest {
                        offer: c.offer,
                        check: check.clone(),
                    }),
                });
            }
            None => {
                let mut why: Vec<&str> = verdicts()
                    .filter_map(|(_, v)| v.not_measured.as_deref())
                    .collect();
                why.sort_unstable();
                why.dedup();
                not_measured.push(Gap {
                    need,
                    why: if why.is_empty() {
                        "no measured size is within the limits".into()
                    } else {
                        why.join("; ")
                    },
                    closest: None,
                });
            }
        }
    }
    (unmet, not_measured)
}

/// What the judged values rest on, where it is less than an interval.
fn basis_notes(candidates: &[Candidate]) -> Vec<String> {
    let bases: BTreeSet<&str> = candidates
        .iter()
        .flat_map(|c| c.needs.iter().flat_map(|v| &v.checks))
        .filter_map(|c| match c.basis {
            Basis::OneRepetition => Some(
                "a figure of one repetition is judged on that value alone, with no spread \
                 (`1 rep` in the table): run 6 repetitions or more before trusting it",
            ),
            Basis::Range => Some(
                "a figure of 2 to 5 repetitions has no 95 % interval: it is judged on its \
                 lowest repetition (highest, for a ceiling); 6 or more give the interval",
            ),
            Basis::Interval | Basis::Exact => None,
        })
        .collect();
    bases.into_iter().map(str::to_owned).collect()
}
