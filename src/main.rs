//! The xborder command line. Subcommands live in src/cli/, one file each.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            let code = err
                .chain()
                .find_map(|e| e.downcast_ref::<xborder::Error>())
                .map(|e| e.exit_code())
                .unwrap_or(1);
            ExitCode::from(code as u8)
        }
    }
}
