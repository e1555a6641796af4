//! The xborder command line. Subcommands live in src/cli/, one file each.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let argv = match cli::config::expand(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("error: {}", xborder::text::escape_control(&message));
            return ExitCode::from(2);
        }
    };
    let args = cli::Cli::parse_from(argv);
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // Messages quote file names and log fields: escape control characters.
            eprintln!(
                "error: {}",
                xborder::text::escape_control_keep_lines(&format!("{err:#}"))
            );
            let code = err
                .chain()
                .find_map(|e| e.downcast_ref::<xborder::Error>())
                .map(|e| e.exit_code())
                .unwrap_or(1);
            ExitCode::from(code as u8)
        }
    }
}

/// `xborder formats | head`: once the reader of standard output goes away, printing fails
/// with a broken pipe, which Rust's `println!` turns into a panic. That is the normal end
/// of a pipeline, not a failure: handled once, here, by ending quietly with success (as
/// xsv does). Every other panic reaches the default hook unchanged.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = xborder::text::panic_message(info.payload());
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
