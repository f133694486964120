//! Runs a plan on a platform: pairs servers and clients, collects result lines, records every
//! finished item at once, stops everything on Ctrl-C, and never runs an item twice on resume.

use std::collections::HashSet;
use std::future::Future;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use probe_core::contract;
use tokio::task::JoinSet;

use crate::error::{describe, BenchError, Result};
use crate::plan::{self, PlanItem};
use crate::platform::{Platform, Probe, TaskRole, TaskSpec};
use crate::store::{self, ItemRecord, ItemStatus, RunMeta, RunStatus, Store};
use crate::suite::{Suite, TestKind};

/// Lines of a failed task's output kept in its record.
const LAST_LINES: usize = 20;

/// What to run and where its results go.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The suite ([`Suite::load`]; on resume, loaded from the results directory with
    /// [`crate::suite::SuiteSource::Resumed`]).
    pub suite: Suite,
    /// `results/` root for a new run.
    pub results_root: PathBuf,
    /// An existing run directory to complete instead.
    pub resume: Option<PathBuf>,
    /// Show a progress bar (else plain lines) on stderr.
    pub progress: bool,
}

impl RunPlan {
    /// The items this plan still has to run: all of them on a new run; on a resumed one, those
    /// whose last record is not a success. The estimate, `--max-cost` and `--dry-run` count
    /// these, so they say what will be launched.
    ///
    /// # Errors
    /// The results directory cannot be read.
    pub fn pending_items(&self) -> Result<Vec<PlanItem>> {
        let items = plan::expand(&self.suite);
        let Some(dir) = &self.resume else {
            return Ok(items);
        };
        let done = store::finished_ids(dir)?;
        Ok(items
            .into_iter()
            .filter(|i| !done.contains(&i.id))
            .collect())
    }
}

/// Refuses to resume `dir` on a backend other than the one it ran on, or with a suite other
/// than the one stored in it (apart from its concurrency): items would run where the finished
/// ones did not, or be skipped though they never ran. [`Suite::load`] with
/// [`crate::suite::SuiteSource::Resumed`] gives the suite that passes.
///
/// # Errors
/// [`BenchError::Resume`] saying what differs; [`BenchError::NotAResultsDir`].
pub fn check_resumable(dir: &std::path::Path, backend: &str, suite: &Suite) -> Result<()> {
    let meta = store::read_meta(dir)?;
    let refuse = |why: String| {
        Err(BenchError::Resume {
            dir: dir.to_owned(),
            why,
        })
    };
    if meta.backend != backend {
        return refuse(format!(
            "it ran on the {stored} backend, and its finished items are {stored} measurements; \
             resume it with `fargate-bench run --backend {stored} --resume {dir}`, or start a \
             new run on {backend}",
            stored = meta.backend,
            dir = dir.display(),
        ));
    }
    let same_concurrency = Suite {
        concurrency: meta.suite.concurrency,
        ..suite.clone()
    };
    if same_concurrency != meta.suite {
        return refuse(
            "the plan's suite is not the one stored in its run.json (load it with \
             `Suite::load(SuiteSource::Resumed(dir), ..)`)"
                .into(),
        );
    }
    Ok(())
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The results directory.
    pub dir: PathBuf,
    /// Run metadata.
    pub meta: RunMeta,
    /// Every record (last per item).
    pub records: Vec<ItemRecord>,
    /// Lines of `results.jsonl` left out (torn or malformed), in words: the report says them.
    pub warnings: Vec<String>,
}

/// A fresh random run id: time-sortable and unique.
pub fn new_run_id() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_digit()).collect();
    format!(
        "{}-{:04x}",
        &stamp[..14.min(stamp.len())],
        rand::random::<u16>()
    )
}

struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
}

impl Progress {
    fn new(total: usize, already: usize, fancy: bool) -> Self {
        let bar = (fancy && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} items, ETA {eta} {msg}")
                    .expect("valid template"),
            );
            bar.set_position(already as u64);
            bar
        });
        Self {
            bar,
            total,
            done: already,
        }
    }

    fn finished(&mut self, rec: &ItemRecord) {
        self.done += 1;
        let what = match rec.status {
            ItemStatus::Ok => headline(rec),
            ItemStatus::Failed => format!("FAILED: {}", rec.reason.as_deref().unwrap_or("")),
        };
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(format!("{}: {what}", rec.id));
            }
            None => eprintln!("[{}/{}] {}: {what}", self.done, self.total, rec.id),
        }
    }

    fn close(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn headline(rec: &ItemRecord) -> String {
    use probe_core::units::{format_bits_per_sec, format_bytes_per_sec, format_ns};
    let Some(r) = rec.reports.first() else {
        return "ok".into();
    };
    if let Some(t) = r.metrics.throughput.first() {
        return format_bits_per_sec(t.bits_per_sec);
    }
    if let Some(s) = r
        .metrics
        .latency
        .as_ref()
        .and_then(|l| l.rtt_summary.as_ref())
    {
        return format!(
            "p50 {} p99 {}",
            format_ns(s.p50_ns as f64),
            format_ns(s.p99_ns as f64)
        );
    }
    if let Some(b) = r
        .metrics
        .memory_bandwidth
        .iter()
        .filter(|b| b.kernel == "triad")
        .max_by(|a, b| a.best_bytes_per_sec.total_cmp(&b.best_bytes_per_sec))
    {
        return format!("triad {}", format_bytes_per_sec(b.best_bytes_per_sec));
    }
    "ok".into()
}

/// Runs (or resumes) the plan until done or until `shutdown` resolves.
///
/// # Errors
/// [`BenchError::Interrupted`] after stopping every task on shutdown; store errors.
pub async fn run<P: Platform>(
    platform: Arc<P>,
    plan_spec: RunPlan,
    shutdown: impl Future<Output = ()>,
) -> Result<RunOutcome> {
    run_priced(platform, plan_spec, None, shutdown).await
}

/// [`run`], recording in a new run's `run.json` the date of the price table its estimate used
/// (`report` says it beside the prices it applies then).
///
/// # Errors
/// As [`run`].
pub async fn run_priced<P: Platform>(
    platform: Arc<P>,
    plan_spec: RunPlan,
    prices_as_of: Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<RunOutcome> {
    // A backend that cannot run one of the architectures says so before a results
    // directory exists (on resume, before anything more runs).
    if let Some(dir) = &plan_spec.resume {
        check_resumable(dir, platform.name(), &plan_spec.suite)?;
    }
    platform
        .check_arches(&plan_spec.suite.architectures)
        .await?;
    let (mut store, done_ids) = match &plan_spec.resume {
        Some(dir) => {
            let (store, records) = Store::reopen(dir)?;
            let done: HashSet<String> = records
                .iter()
                .filter(|r| r.status == ItemStatus::Ok)
                .map(|r| r.id.clone())
                .collect();
            (store, done)
        }
        None => {
            let meta = RunMeta {
                run_id: new_run_id(),
                backend: platform.name().to_owned(),
                suite: plan_spec.suite.clone(),
                controller_version: env!("CARGO_PKG_VERSION").to_owned(),
                started_at: store::now_rfc3339(),
                status: RunStatus::Running,
                finished_at: None,
                // The process's own command line: the CLI's, or the tool that drives the library.
                command_line: Some(std::env::args().collect::<Vec<_>>().join(" ")),
                capacity: platform.capacity(),
                region: platform.region(),
                prices_as_of,
            };
            (
                Store::create(&plan_spec.results_root, meta)?,
                HashSet::new(),
            )
        }
    };
    // On resume this is the stored suite (checked above), with the concurrency asked for now.
    let suite = &plan_spec.suite;
    let run_id = store.meta().run_id.clone();
    let items: Vec<PlanItem> = plan::expand(suite)
        .into_iter()
        .filter(|i| !done_ids.contains(&i.id))
        .collect();
    let total = items.len() + done_ids.len();
    eprintln!(
        "run {run_id}: {} items to run ({} already done) on the {} backend; results in {}",
        items.len(),
        done_ids.len(),
        platform.name(),
        store.dir().display()
    );
    platform.prepare_run(&run_id).await?;
    let mut progress = Progress::new(total, done_ids.len(), plan_spec.progress);
    let mut queue = items.into_iter();
    let mut running: JoinSet<ItemRecord> = JoinSet::new();
    let concurrency = suite.concurrency.max(1) as usize;
    let waits = ServerWaits::of(&*platform);
    tokio::pin!(shutdown);
    // The loop ends normally, on shutdown, or on a store error; in every case the launched
    // tasks are stopped and the run's shared resources removed before returning.
    let ended: Result<bool> = loop {
        while running.len() < concurrency {
            let Some(item) = queue.next() else { break };
            let (platform, run_id) = (platform.clone(), run_id.clone());
            running.spawn(async move { item::run_item(&*platform, &run_id, &item, waits).await });
        }
        if running.is_empty() {
            break Ok(false);
        }
        tokio::select! {
            _ = &mut shutdown => break Ok(true),
            Some(done) = running.join_next() => {
                let record = match done {
                    Ok(record) => record,
                    Err(e) => break Err(BenchError::Backend {
                        backend: "controller",
                        what: "an item task crashed".into(),
                        source: Some(Box::new(e)),
                    }),
                };
                if let Err(e) = store.append(&record) {
                    break Err(e);
                }
                progress.finished(&record);
            }
        }
    };
    progress.close();
    let stop_everything = !matches!(ended, Ok(false));
    if stop_everything {
        running.abort_all();
        while running.join_next().await.is_some() {}
        match platform.stop_run(Some(&run_id)).await {
            Ok(stopped) if !stopped.is_empty() => {
                eprintln!("stopped {} task(s) of run {run_id}", stopped.len());
            }
            Ok(_) => {}
            // Never silent: the operator pays for what could not be stopped.
            Err(e) => eprintln!("warning: cleaning up run {run_id}: {}", describe(&e)),
        }
    }
    if let Err(e) = platform.finish_run(&run_id).await {
        eprintln!("warning: cleaning up after run {run_id}: {}", describe(&e));
    }
    match ended {
        Ok(false) => {}
        Ok(true) => {
            store.finish(RunStatus::Interrupted)?;
            return Err(BenchError::Interrupted {
                dir: store.dir().to_owned(),
            });
        }
        Err(e) => {
            if let Err(meta) = store.finish(RunStatus::Interrupted) {
                eprintln!("warning: could not record that the run stopped: {meta}");
            }
            return Err(e);
        }
    }
    store.finish(RunStatus::Complete)?;
    let loaded = store::load_checked(store.dir())?;
    Ok(RunOutcome {
        dir: store.dir().to_owned(),
        meta: loaded.meta,
        records: loaded.records,
        warnings: loaded.warnings,
    })
}

/// Probe arguments with the run id, which every probe records in its report (and by which the
/// local backend finds a run's processes): appended here, once, for every backend.
fn with_run_id(mut args: Vec<String>, run_id: &str) -> Vec<String> {
    args.extend(["--run-id".to_owned(), run_id.to_owned()]);
    args
}

fn memory_spec(run_id: &str, item: &PlanItem) -> TaskSpec {
    TaskSpec {
        run_id: run_id.to_owned(),
        item_id: item.id.clone(),
        role: TaskRole::Memory,
        probe: Probe::Memprobe,
        args: with_run_id(item.test.probe_args(), run_id),
        env: Vec::new(),
        size: item.size,
        arch: item.arch,
    }
}

/// How long a server waits: for its task to accept clients, and then, listening, for its
/// client's test to begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerWaits {
    /// From launch until it accepts clients ([`Platform::server_ready_timeout`]).
    pub ready: Duration,
    /// Its `--idle-timeout`: from its start until a client begins a test
    /// ([`Platform::server_idle_timeout`]).
    pub idle: Duration,
}

impl ServerWaits {
    /// The platform's waits.
    pub fn of<P: Platform>(platform: &P) -> Self {
        Self {
            ready: platform.server_ready_timeout(),
            idle: platform.server_idle_timeout(),
        }
    }
}

fn server_spec(run_id: &str, item: &PlanItem, idle: Duration, key: String) -> TaskSpec {
    TaskSpec {
        run_id: run_id.to_owned(),
        item_id: item.id.clone(),
        role: TaskRole::Server,
        probe: Probe::Netprobe,
        args: with_run_id(
            vec![
                "server".into(),
                "--once".into(),
                "--idle-timeout".into(),
                idle.as_secs().max(60).to_string(),
            ]
            .into_iter()
            .chain(item.test.server_args())
            .collect(),
            run_id,
        ),
        env: vec![(contract::PSK_ENV.to_owned(), key)],
        size: item.size,
        arch: item.arch,
    }
}

fn client_spec(server: &TaskSpec, item: &PlanItem, addr: String) -> TaskSpec {
    let mut args = vec!["client".to_owned(), "--server".to_owned(), addr];
    args.extend(item.test.probe_args());
    TaskSpec {
        role: TaskRole::Client,
        args: with_run_id(args, &server.run_id),
        ..server.clone()
    }
}

/// Every task a plan would launch (on resume, for the items still to run), with a placeholder
/// server address (for `--dry-run`); servers wait `idle` for their clients, as the platform's
/// [`Platform::server_idle_timeout`] says.
///
/// # Errors
/// A resumed plan's results directory cannot be read.
pub fn preview_specs(plan: &RunPlan, idle: Duration) -> Result<Vec<(TaskSpec, String)>> {
    let mut out = Vec::new();
    for item in plan.pending_items()? {
        if item.test.kind == TestKind::Memory {
            out.push((memory_spec("RUN-ID", &item), item.id.clone()));
        } else {
            let server = server_spec("RUN-ID", &item, idle, "KEY".into());
            let client = client_spec(
                &server,
                &item,
                format!("SERVER-IP:{}", contract::NETPROBE_PORT),
            );
            out.push((server, item.id.clone()));
            out.push((client, item.id.clone()));
        }
    }
    Ok(out)
}

mod item;
#[cfg(test)]
mod tests;
