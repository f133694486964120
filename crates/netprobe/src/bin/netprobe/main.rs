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
    match runtime.block_on(cli::run(command)) {
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
