//! The command line, shared by the `q-implant` binary and the Python
//! module's `q-implant` entry point: arguments ([`args`]), the legacy form
//! of the C++ tool ([`legacy`]), each command run and its result printed
//! ([`run`], [`verify`]), and the terminal ([`ui`], [`progress`]). Only here are clap's
//! types; the rest of the library knows nothing of it.

pub mod args;
pub mod legacy;
pub mod pairs;
pub mod progress;
pub mod run;
pub mod ui;
pub mod verify;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use args::Cli;

/// Runs the command line `args` (the program's name first) and returns
/// its exit code: 0 success, 1 findings or a refused write, 2 trouble.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(legacy::rewrite(args.clone())) {
        Ok(cli) => cli,
        Err(e) => {
            if e.kind() == clap::error::ErrorKind::MissingRequiredArgument {
                match pairs::check_all(&args) {
                    pairs::Pairs::Checked(code) => return code,
                    pairs::Pairs::NoneConfigured => {
                        let _ = e.print();
                        ui::say(pairs::NOTE);
                        return ExitCode::from(2);
                    }
                    pairs::Pairs::NotAsked => {}
                }
            }
            if e.kind() == clap::error::ErrorKind::InvalidSubcommand {
                if let Some(note) = legacy::note_for(args.get(1).map(Path::new)) {
                    let _ = e.print();
                    ui::say(note);
                    return ExitCode::from(2);
                }
            }
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    ui::error_style(cli.color);
    match run::run(cli) {
        Ok(code) => code,
        Err(report) => {
            ui::say(format_args!("{report:?}"));
            ExitCode::from(2)
        }
    }
}
