//! The `q-implant` command line: parses arguments, calls the library's
//! commands, prints what they return. Everything else is in `cli/`.

mod cli;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use cli::args::Cli;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(cli::legacy::rewrite(args.clone())) {
        Ok(cli) => cli,
        Err(e) => {
            if e.kind() == clap::error::ErrorKind::InvalidSubcommand {
                if let Some(note) = cli::legacy::note_for(args.get(1).map(Path::new)) {
                    let _ = e.print();
                    eprintln!("{note}");
                    return ExitCode::from(2);
                }
            }
            e.exit()
        }
    };
    cli::ui::error_style(cli.color);
    match cli::run::run(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}
