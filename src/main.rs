//! The `q-implant` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use q_implant::inspect;
use q_implant::model::{self, CircleFile, Layout, ModelParts};

/// Validate quantization parameters against a circle model, then implant them.
///
/// Typical use: `q-implant inspect model.circle` to see the real tensor names,
/// `q-implant check model.circle qparam.json` to find every problem in the
/// parameters, `q-implant apply model.circle qparam.json -o model.q.circle`
/// to write the quantized model.
///
/// Exit codes: 0 success, 1 problems found (check) or refused (apply),
/// 2 the run itself failed (bad arguments, unreadable model).
#[derive(Parser)]
#[command(name = "q-implant", version, about, long_about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show every tensor and operator of a model: names, types, shapes,
    /// constants, producers, consumers and quantization.
    Inspect {
        /// The .circle model.
        model: PathBuf,
        /// `table` for people, `json` for programs (a stable format).
        #[arg(long, value_enum, default_value_t = InspectFormat::Table)]
        format: InspectFormat,
    },
    /// Write a model again, in the plain or the large-model layout.
    ///
    /// The plain layout keeps weights inside the FlatBuffer (limited to 2 GiB);
    /// the large-model layout stores them after it. Everything else is kept.
    Rewrite {
        /// The .circle model to read.
        model: PathBuf,
        /// Where to write; written atomically, never over the input.
        #[arg(short, long)]
        output: PathBuf,
        /// `auto` picks plain when the model fits in 2 GiB.
        #[arg(long, value_enum, default_value_t = Layout::Auto)]
        layout: Layout,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum InspectFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}

/// Prints to stdout; a closed pipe (`| head`) ends output quietly.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn run(cli: Cli) -> miette::Result<ExitCode> {
    match cli.command {
        Command::Inspect { model, format } => {
            let file = CircleFile::open(&model)?;
            let report = inspect::Report::new(&file);
            match format {
                InspectFormat::Table => emit(&report.to_table()),
                InspectFormat::Json => emit(&(report.to_json() + "\n")),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rewrite {
            model,
            output,
            layout,
            force,
        } => {
            q_implant::paths::refuse_same_file(&model, &output)?;
            let file = CircleFile::open(&model)?;
            let parts = ModelParts::from_file(&file);
            let written = model::save(&parts, layout, &output, force)?;
            eprintln!(
                "wrote {} ({} bytes, {} layout)",
                output.display(),
                written.bytes,
                if written.large {
                    "large-model"
                } else {
                    "plain"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
