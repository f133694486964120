//! `fargate-bench`: the operator's command. A thin shell over the `fargate_bench` library:
//! flags (`args`) are validated into a command (`validate`) before any work starts, and
//! `cli` dispatches it.

mod args;
mod cli;
mod validate;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let command = match validate::validate(args::Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fargate-bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fargate-bench: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli::execute(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fargate-bench: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
