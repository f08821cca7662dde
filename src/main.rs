//! The `q-implant` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use q_implant::analysis::diagnostic::Severity;
use q_implant::analysis::{self, rules, CheckOptions};
use q_implant::graph::Graph;
use q_implant::inspect;
use q_implant::model::{self, CircleFile, Layout, ModelParts};
use q_implant::qparam::LoadOptions;
use q_implant::report::{self, Format, Sources};

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
    /// Find every problem in a qparam set: JSON, fields, npy files, names,
    /// coverage of the graph and the quantization spec.
    ///
    /// Reads the model and the npy headers (float weights only where a
    /// suggestion needs them) and reports all findings in one run, each with
    /// its place in qparam.json and what to do. Exit code 0: no errors;
    /// 1: errors (or warnings with --deny warnings); 2: the check could not run.
    Check {
        /// The float .circle model.
        model: PathBuf,
        /// The exporter's qparam.json; npy paths are relative to its directory.
        qparam: PathBuf,
        #[command(flatten)]
        analysis: AnalysisArgs,
        /// `human` for people; `json`, `sarif` and `github` for tools.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors for the exit code (`--deny warnings`).
        #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
        deny: Option<String>,
        /// Colors in human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// List the rules, or explain one (`q-implant rules Q103`).
    Rules {
        /// A rule code (Q103) or name (duplicate-key).
        code: Option<String>,
        /// Print every rule's documentation as Markdown (docs/rules.md).
        #[arg(long)]
        markdown: bool,
    },
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

/// Options shared by `check` and `apply`.
#[derive(clap::Args)]
struct AnalysisArgs {
    /// Report only these codes or prefixes, comma-separated (`Q5,Q601`).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    select: Vec<String>,
    /// Do not report these codes or prefixes (`Q7` silences the spec warnings).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    ignore: Vec<String>,
    /// Accept npy paths outside the qparam directory (only for trusted files).
    #[arg(long)]
    allow_outside_paths: bool,
}

impl AnalysisArgs {
    fn options(&self, allow_float: Vec<String>) -> CheckOptions {
        CheckOptions {
            load: LoadOptions {
                allow_outside_paths: self.allow_outside_paths,
            },
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            allow_float,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Color::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
            Color::Always => true,
            Color::Never => false,
        }
    }
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
        Command::Check {
            model,
            qparam,
            analysis,
            format,
            deny,
            color,
        } => {
            let file = CircleFile::open(&model)?;
            let graph = Graph::new(&file);
            let result = analysis::check(&graph, &qparam, &analysis.options(Vec::new()))?;
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            emit(&report::render(&result, &sources, format, color.enabled()));
            let failing = result.count(Severity::Error)
                + if deny.is_some() {
                    result.count(Severity::Warning)
                } else {
                    0
                };
            Ok(if failing > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Rules { code, markdown } => {
            if markdown {
                emit(&rules::markdown());
            } else if let Some(code) = code {
                let rule = rules::by_code(&code).ok_or_else(|| {
                    miette::miette!(
                        code = "rules::unknown",
                        help = "`q-implant rules` lists every code",
                        "there is no rule `{code}`"
                    )
                })?;
                emit(&format!(
                    "{} ({}): {}\n\n{}",
                    rule.code, rule.name, rule.summary, rule.docs
                ));
            } else {
                emit(&rules::listing());
            }
            Ok(ExitCode::SUCCESS)
        }
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
