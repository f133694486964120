//! What `fargate-bench run` and `report` do, as library calls: another tool drives a run
//! exactly as the CLI does by building a [`RunRequest`] and calling [`run`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{AnyPlatform, BackendConfig};
use crate::error::{BenchError, Result};
use crate::merge::{self, Summary};
use crate::runner::{self, RunPlan};
use crate::sizes::Prices;
use crate::store;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// What to run ([`crate::Suite::load`] gives the suite and sizes).
    pub plan: RunPlan,
    /// Where.
    pub backend: BackendConfig,
    /// Prices for the cost columns.
    pub prices: Prices,
}

/// A finished (or partly failed) run.
#[derive(Debug)]
pub struct RunReport {
    /// The results directory.
    pub dir: PathBuf,
    /// The merged report.
    pub summary: Summary,
}

impl RunReport {
    /// `Ok` when every item succeeded, else [`BenchError::ItemsFailed`] (after the report was
    /// written: the failures are in it).
    ///
    /// # Errors
    /// [`BenchError::ItemsFailed`].
    pub fn all_ok(&self) -> Result<()> {
        if self.summary.failures.is_empty() {
            return Ok(());
        }
        Err(BenchError::ItemsFailed {
            failed: self.summary.failures.len(),
            total: self.summary.failures.len() + self.summary.items_ok as usize,
            dir: self.dir.clone(),
        })
    }
}

/// Starts the backend, runs (or resumes) the plan until done or `shutdown`, and merges.
///
/// # Errors
/// Backend start-up errors, [`BenchError::Interrupted`], store errors.
pub async fn run(request: RunRequest, shutdown: impl Future<Output = ()>) -> Result<RunReport> {
    let platform = AnyPlatform::start(&request.backend).await?;
    let outcome = runner::run(Arc::new(platform), request.plan, shutdown).await?;
    let summary = merge::summarize(&outcome.meta, &outcome.records, Some(&request.prices));
    Ok(RunReport {
        dir: outcome.dir,
        summary,
    })
}

/// The merged report of a results directory.
///
/// # Errors
/// [`BenchError::NotAResultsDir`] or store errors.
pub fn summarize_dir(dir: &Path, prices: Option<&Prices>) -> Result<Summary> {
    let loaded = store::load_checked(dir)?;
    let mut summary = merge::summarize(&loaded.meta, &loaded.records, prices);
    summary.warnings.extend(loaded.warnings);
    Ok(summary)
}
