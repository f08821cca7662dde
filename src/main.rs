//! The `q-implant` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use q_implant::analysis::{self, rules, CheckOptions};
use q_implant::apply::{self, ApplyRequest, Outcome};
use q_implant::fix::FixPlan;
use q_implant::graph::Graph;
use q_implant::implant::{Change, ImplantOptions, Source};
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
        /// Rename keys the matcher resolves confidently and add a missing
        /// `quantized_dimension` where it can only be 0; then report what
        /// remains. Writes qparam.json in place (keeping qparam.json.bak)
        /// unless --fix-output is given. Never changes npy files.
        #[arg(long)]
        fix: bool,
        /// Write the fixed file here instead (beside QPARAM).
        #[arg(long, requires = "fix", value_name = "PATH")]
        fix_output: Option<PathBuf>,
    },
    /// Implant a qparam set into a model, after a clean check.
    ///
    /// Runs the same analysis as `check`; any error refuses the write (exit 1)
    /// and prints the findings. The output is written to a temporary file
    /// beside OUTPUT, read back and verified, then renamed into place; the
    /// inputs are never modified. The existing tool's form
    /// `q-implant MODEL QPARAM OUTPUT` is accepted too (it replaces OUTPUT).
    Apply {
        /// The float .circle model.
        model: PathBuf,
        /// The exporter's qparam.json.
        qparam: PathBuf,
        /// Where to write the quantized model.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        analysis: AnalysisArgs,
        /// Report what would change (tensors retyped, bytes before and
        /// after) without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Replace OUTPUT if it exists (even when it is the input model).
        #[arg(long)]
        force: bool,
        /// Keep float model inputs and outputs: insert Quantize after each
        /// input and Dequantize before each output.
        #[arg(long)]
        float_io: bool,
        /// File layout; `auto` is plain unless the model needs over 2 GiB.
        #[arg(long, value_enum, default_value_t = Layout::Auto)]
        layout: Layout,
        /// Refuse on warnings too (`--deny warnings`).
        #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
        deny: Option<String>,
        /// Colors in the findings.
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
    /// Copy parameters through Reshape, Transpose, Squeeze, Split, Slice,
    /// Gather, MaxPool2D and Pad to outputs the set leaves out (`check`
    /// counts them as covered, `apply` writes them).
    #[arg(long)]
    propagate: bool,
    /// Tensors that may stay float (mixed precision), comma-separated;
    /// their coverage findings become warnings.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    allow_float: Vec<String>,
}

impl AnalysisArgs {
    fn options(&self) -> CheckOptions {
        CheckOptions {
            load: LoadOptions {
                allow_outside_paths: self.allow_outside_paths,
            },
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            allow_float: self.allow_float.clone(),
            propagate: self.propagate,
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

/// The existing C++ tool's form, `q-implant MODEL QPARAM OUTPUT`, as
/// `apply MODEL QPARAM -o OUTPUT --force` (that tool replaced OUTPUT).
fn legacy_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let subcommands = ["check", "apply", "inspect", "rewrite", "rules", "help"];
    let positional = args.len() == 4
        && args[1..]
            .iter()
            .all(|a| !a.to_string_lossy().starts_with('-'));
    if positional && !subcommands.contains(&args[1].to_string_lossy().as_ref()) {
        return vec![
            args[0].clone(),
            "apply".into(),
            args[1].clone(),
            args[2].clone(),
            "-o".into(),
            args[3].clone(),
            "--force".into(),
        ];
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(legacy_args(std::env::args_os().collect()));
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
            fix,
            fix_output,
        } => {
            let file = CircleFile::open(&model)?;
            let graph = Graph::new(&file);
            let options = analysis.options();
            let mut result = analysis::check(&graph, &qparam, &options)?;
            let mut qparam = qparam;
            if fix {
                let plan = FixPlan::new(&result);
                for f in &plan.fixed {
                    eprintln!("fixed `{}`: {}", f.key, f.what);
                }
                for f in &plan.left {
                    eprintln!("left as is `{}`: {}", f.key, f.what);
                }
                if plan.is_empty() {
                    eprintln!("nothing to fix");
                } else {
                    let fixed = plan.apply(&result.qparam.text);
                    let written = q_implant::fix::write(&qparam, &fixed, fix_output.as_deref())?;
                    if fix_output.is_none() {
                        eprintln!("the original is kept as {}.bak", qparam.display());
                    }
                    eprintln!("wrote {}; the findings below are for it", written.display());
                    result = analysis::check(&graph, &written, &options)?;
                    qparam = written;
                }
            }
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            emit(&report::render(&result, &sources, format, color.enabled()));
            Ok(if result.failing(deny.is_some()) > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Apply {
            model,
            qparam,
            output,
            analysis,
            dry_run,
            force,
            float_io,
            layout,
            deny,
            color,
        } => {
            let request = ApplyRequest {
                model: &model,
                qparam: &qparam,
                output: &output,
                check: analysis.options(),
                implant: ImplantOptions {
                    propagate: analysis.propagate,
                    float_io,
                },
                layout,
                force,
                dry_run,
                deny_warnings: deny.is_some(),
            };
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            let show = |a: &analysis::Analysis| {
                if !a.diagnostics.is_empty() {
                    eprint!(
                        "{}",
                        report::render(a, &sources, Format::Human, color.enabled())
                    );
                }
            };
            match apply::run(&request)? {
                Outcome::Refused(a) => {
                    show(&a);
                    eprintln!("refused: nothing was written to {}", output.display());
                    Ok(ExitCode::from(1))
                }
                Outcome::DryRun {
                    analysis,
                    changes,
                    inserted,
                } => {
                    show(&analysis);
                    emit(&changes_table(&changes, &inserted));
                    emit(&format!(
                        "dry run: nothing was written to {}\n",
                        output.display()
                    ));
                    Ok(ExitCode::SUCCESS)
                }
                Outcome::Written {
                    analysis,
                    changes,
                    inserted,
                    written,
                } => {
                    show(&analysis);
                    let propagated = changes
                        .iter()
                        .filter(|c| matches!(c.source, Source::Propagated { .. }))
                        .count();
                    for c in changes
                        .iter()
                        .filter(|c| matches!(c.source, Source::Propagated { .. }))
                    {
                        if let Source::Propagated { from, op } = &c.source {
                            eprintln!(
                                "propagated: `{}` takes the parameters of `{from}` through {op}",
                                c.name
                            );
                        }
                    }
                    for line in &inserted {
                        eprintln!("inserted: {line}");
                    }
                    eprintln!(
                        "wrote {}: {} tensors quantized ({} propagated), {} bytes, {} layout",
                        output.display(),
                        changes.len(),
                        propagated,
                        written.bytes,
                        written.layout_name()
                    );
                    Ok(ExitCode::SUCCESS)
                }
            }
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
                written.layout_name()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The `--dry-run` table: one row per tensor that would change.
fn changes_table(changes: &[Change], inserted: &[String]) -> String {
    use std::fmt::Write;
    let width = changes
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(6);
    let mut out = format!(
        "{:<width$}  {:<18}  {:>22}  source\n",
        "tensor", "dtype", "bytes"
    );
    let (mut before, mut after) = (0u64, 0u64);
    for c in changes {
        before += c.bytes_before;
        after += c.bytes_after;
        let source = match &c.source {
            Source::Entry(key) => format!("entry `{key}`"),
            Source::Propagated { from, op } => format!("propagated from `{from}` through {op}"),
        };
        let dtypes = format!("{} -> {}", c.from, c.to);
        let bytes = format!("{} -> {}", c.bytes_before, c.bytes_after);
        let _ = writeln!(
            out,
            "{:<width$}  {dtypes:<18}  {bytes:>22}  {source}",
            c.name
        );
    }
    for line in inserted {
        let _ = writeln!(out, "inserted: {line}");
    }
    let _ = writeln!(
        out,
        "{} tensors would change; their data {} -> {} bytes",
        changes.len(),
        before,
        after
    );
    out
}
