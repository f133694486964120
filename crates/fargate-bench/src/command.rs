//! What `fargate-bench run` and `report` do, as library calls: another tool drives a run
//! exactly as the CLI does by building a [`RunRequest`] and calling [`run`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{AnyPlatform, BackendConfig};
use crate::error::{BenchError, Result};
use crate::estimate;
use crate::merge;
use crate::runner::{self, RunPlan};
use crate::sizes::Prices;
use crate::store;
use crate::summary::Merged;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// What to run ([`crate::Suite::load`] gives the suite).
    pub plan: RunPlan,
    /// Where.
    pub backend: BackendConfig,
    /// Prices for the cost columns and the estimate.
    pub prices: Prices,
    /// Refuse to start an ECS run whose estimate exceeds this many USD.
    pub max_cost_usd: Option<f64>,
}

/// The estimate of what `request` launches on ECS (`None` on backends that cost nothing), and
/// whether it fits `max_cost_usd`.
///
/// # Errors
/// [`BenchError::OverBudget`] when the estimate exceeds the cap, or no price is known to check
/// it against.
pub fn check_cost(request: &RunRequest) -> Result<Option<estimate::Estimate>> {
    if request.backend.backend() != crate::Backend::Ecs {
        return Ok(None);
    }
    let items = request.plan.pending_items()?;
    let mut e = estimate::estimate(&items, request.plan.suite.concurrency, &request.prices);
    if let crate::BackendConfig::Ecs(settings) = &request.backend {
        e = e.with_capacity_worst_case(
            &items,
            &request.prices,
            crate::platform::ecs::server_idle_timeout(settings),
        );
    }
    if let Some(max) = request.max_cost_usd {
        match e.usd {
            Some(usd) if usd > max => {
                return Err(BenchError::OverBudget {
                    why: format!(
                        "the estimate of ${usd:.2} exceeds --max-cost {max:.2} ({})",
                        e.line()
                    ),
                })
            }
            None => {
                return Err(BenchError::OverBudget {
                    why: format!("--max-cost {max:.2} cannot be checked: {}", e.priced_as),
                })
            }
            Some(_) => {}
        }
    }
    Ok(Some(e))
}

/// A finished (or partly failed) run.
#[derive(Debug)]
pub struct RunReport {
    /// The results directory.
    pub dir: PathBuf,
    /// The merged document every report format reads.
    pub merged: Merged,
}

impl RunReport {
    /// `Ok` when every item succeeded, else [`BenchError::ItemsFailed`] (after the report was
    /// written: the failures are in it).
    ///
    /// # Errors
    /// [`BenchError::ItemsFailed`].
    pub fn all_ok(&self) -> Result<()> {
        let summary = &self.merged.summary;
        if summary.failures.is_empty() {
            return Ok(());
        }
        Err(BenchError::ItemsFailed {
            failed: summary.failures.len(),
            total: summary.failures.len() + summary.items_ok as usize,
            dir: self.dir.clone(),
        })
    }
}

/// Starts the backend, runs (or resumes) the plan until done or `shutdown`, and merges.
///
/// # Errors
/// Backend start-up errors, [`BenchError::Interrupted`], store errors.
pub async fn run(request: RunRequest, shutdown: impl Future<Output = ()>) -> Result<RunReport> {
    if let Some(e) = check_cost(&request)? {
        let resumed = if request.plan.resume.is_some() {
            " (the items this resume still runs)"
        } else {
            ""
        };
        eprintln!("{}{resumed}", e.line());
    }
    let platform = AnyPlatform::start(&request.backend).await?;
    let as_of = Some(request.prices.table.as_of.clone());
    let outcome = runner::run_priced(Arc::new(platform), request.plan, as_of, shutdown).await?;
    let mut merged = merge::summarize(&outcome.meta, &outcome.records, Some(&request.prices));
    merged.summary.warnings.extend(outcome.warnings);
    Ok(RunReport {
        dir: outcome.dir,
        merged,
    })
}

/// The merged document of a results directory, folded one record at a time: a 10,000-item
/// run is merged without holding its records, for every format.
///
/// # Errors
/// [`BenchError::NotAResultsDir`] or store errors.
pub fn summarize_dir(dir: &Path, prices: Option<&Prices>) -> Result<Merged> {
    let mut summarizer = merge::Summarizer::new();
    let (meta, warnings) = store::fold_records(dir, |rec| summarizer.add(&rec))?;
    let mut merged = summarizer.finish(&meta, prices);
    merged.summary.warnings.extend(warnings);
    Ok(merged)
}
