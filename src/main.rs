//! The `latch` command: serves by default; see [`latch::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = latch::cli::Cli::parse();
    match latch::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latch: {message}");
            ExitCode::FAILURE
        }
    }
}
