//! Dispatch: each validated command calls the library, and its output goes through
//! [`fargate_bench::export`].

use std::io::Write;

use anyhow::{bail, Result};
use fargate_bench::export::{self, Output};
use fargate_bench::{backend, command, BenchError};

use crate::validate::Validated;

/// Writes what `write` produces to `output`, and says where a file went.
fn write_to(
    output: &Output,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    output.write(write)?;
    if let Output::File(path) = output {
        eprintln!("{what} written to {}", path.display());
    }
    Ok(())
}

/// Runs a validated command.
pub(crate) async fn execute(command: Validated) -> Result<()> {
    match command {
        Validated::Run {
            request,
            dry_run,
            format,
            output,
        } => {
            if dry_run {
                let settings = request.backend.ecs().expect("validated for ecs");
                let region = settings.region.as_deref().unwrap_or(&request.prices.region);
                // The same check a real run makes: a dry run over the cap says so.
                command::check_cost(&request)?;
                let document = fargate_bench::dry_run::document(
                    &request.plan,
                    settings,
                    region,
                    &request.prices,
                )?;
                return write_to(&Output::Stdout, "dry run", |out| {
                    export::write_json(&document, out)
                });
            }
            let report = command::run(*request, shutdown_signal()).await?;
            write_to(&output, "report", |out| {
                export::write_document(format, &report.merged, out)
            })?;
            report.all_ok()?;
            eprintln!("results: {}", report.dir.display());
            Ok(())
        }
        Validated::Report {
            dir,
            prices,
            region_given,
            format,
            output,
        } => {
            // Priced as the run ran: its recorded capacity, and its Region unless --region.
            let prices = prices.as_run(&fargate_bench::store::read_meta(&dir)?, region_given);
            // Every format reads the one merged document, folded one record at a time.
            let merged = command::summarize_dir(&dir, Some(&prices))?;
            write_to(&output, "report", |out| {
                export::write_document(format, &merged, out)
            })
        }
        Validated::Sizes(prices) => write_to(&Output::Stdout, "sizes", |out| {
            export::sizes::write_sizes(&prices, out)
        }),
        Validated::Compare {
            a,
            b,
            format,
            output,
            fail_if,
        } => {
            let (a, b) = (
                command::summarize_dir(&a, None)?.summary,
                command::summarize_dir(&b, None)?.summary,
            );
            let changes = fargate_bench::compare::compare(&a, &b);
            if changes.is_empty() {
                bail!("the two runs share no metric (different tests or sizes)");
            }
            let checked = fargate_bench::compare::gate::gate(&a, &b, &fail_if)?;
            write_to(&output, "comparison", |out| {
                export::compare::write_comparison(format, &a, &b, &changes, out)?;
                if format == export::Format::Table && !checked.is_empty() {
                    export::compare::write_gate(&checked, out)?;
                }
                Ok(())
            })?;
            gate_outcome(&checked, format)
        }
        Validated::Recommend {
            results,
            needs,
            limits,
            prices,
            format,
            output,
        } => {
            // Unpriced merges: recommend prices each size at its own architecture and capacity.
            let runs = summarize_all(&results, None)?;
            let rec = fargate_bench::recommend::recommend(&runs, &needs, &limits, &prices)?;
            write_to(&output, "recommendation", |out| {
                export::recommend::write_recommendation(&rec, format, out)
            })?;
            rec.picked()?;
            Ok(())
        }
        Validated::Simulate {
            profile,
            results,
            direction,
            prices,
            format,
            output,
        } => {
            let runs = summarize_all(&results, Some(&prices))?;
            let sim = fargate_bench::simulate::simulate(&profile, &runs, direction)?;
            write_to(&output, "simulation", |out| {
                export::simulate::write_simulation(&sim, format, out)
            })
        }
        Validated::History {
            results,
            format,
            output,
        } => {
            let runs = summarize_all(&results, None)?;
            let history = fargate_bench::history::history(&runs)?;
            write_to(&output, "history", |out| {
                export::history::write_history(&history, format, out)
            })
        }
        Validated::Presets(name) => write_to(&Output::Stdout, "presets", |out| {
            export::presets::write_presets(name.as_deref(), out)
        }),
        Validated::Analyze { file, json } => {
            let found = fargate_bench::analyze::analyze_file(&file)?;
            write_to(&Output::Stdout, "analysis", |out| {
                if json {
                    export::write_json(&found, out)
                } else {
                    export::analyze::write_analysis(&file, &found, out)
                }
            })
        }
        Validated::Cleanup { backend, run } => {
            let stopped = backend::cleanup(&backend, run.as_deref()).await?;
            if stopped.is_empty() {
                eprintln!("nothing left running");
            }
            for s in stopped {
                println!("removed {s}");
            }
            Ok(())
        }
    }
}

/// The merged document of each results directory, in the order given.
fn summarize_all(
    dirs: &[std::path::PathBuf],
    prices: Option<&fargate_bench::sizes::Prices>,
) -> fargate_bench::Result<Vec<fargate_bench::summary::Merged>> {
    dirs.iter()
        .map(|dir| command::summarize_dir(dir, prices))
        .collect()
}

/// Fails the command naming each row that crossed a `--fail-if` rule; says on stderr which
/// rows could not be judged where the format has no room for them.
fn gate_outcome(
    checked: &[fargate_bench::compare::gate::Checked],
    format: export::Format,
) -> Result<()> {
    use fargate_bench::compare::gate::Outcome;
    if format != export::Format::Table {
        for c in checked {
            if let Outcome::NotJudged(why) = &c.outcome {
                eprintln!(
                    "--fail-if {}: {} not judged: {why}",
                    c.rule, c.change.metric
                );
            }
        }
    }
    let crossed: Vec<String> = checked
        .iter()
        .filter(|c| c.outcome == Outcome::Crossed)
        .map(|c| c.line())
        .collect();
    if crossed.is_empty() {
        return Ok(());
    }
    Err(BenchError::Regression { crossed }.into())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A closed pipe (`fargate-bench report ... | head`) is not a failure.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(c.downcast_ref::<BenchError>(), Some(BenchError::Output(io)) if io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The library decides: 2 for usage and setup errors, 1 for measurement failures.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<BenchError>()
        .map_or(1, BenchError::exit_code)
}
