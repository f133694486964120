//! `netprobe`: the network probe binary. A thin shell over the `netprobe` library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let command = match args.into_command() {
        Ok(command) => command,
        Err(e) => {
            eprintln!("netprobe: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("netprobe: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(cli::run(command));
    // Data-plane threads of a test the server ended on its stop may still be running: they end
    // with the process instead of holding its exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netprobe: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

/// Only a closed stdout ends quietly; a broken pipe to the peer is a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<cli::StdoutClosed>().is_some()
}
