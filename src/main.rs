//! The `q-implant` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use q_implant::analysis::{self, rules, CheckOptions};
use q_implant::apply::{self, ApplyRequest, Outcome};
use q_implant::fix;
use q_implant::graph::Graph;
use q_implant::implant::Change;
use q_implant::inspect;
use q_implant::model::{self, CircleFile, Layout, ModelParts};
use q_implant::plan::Source;
use q_implant::qparam::LoadOptions;
use q_implant::report::{self, Filter, Format, Sources, View};
use q_implant::table;

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
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Treat warnings as errors for the exit code (`--deny warnings`).
        #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
        deny: Option<String>,
        /// Colors in human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Fix what is certain, then report what remains: rename keys the
        /// matcher resolves confidently, add a `quantized_dimension` that
        /// can only be 0, repair arrays (PyTorch layouts, float64 or 0-d
        /// scales, unquantized values) into new npy files, and add the
        /// entries the graph and the set determine (biases, constants,
        /// layout copies, outputs of affine steps). Writes qparam.json in
        /// place (keeping qparam.json.bak, or .bak.1, ...) unless
        /// --fix-output is given. Never changes an existing npy file.
        #[arg(long)]
        fix: bool,
        /// Write the fixed file here instead (a new file beside QPARAM; an
        /// existing file is never replaced).
        #[arg(long, requires = "fix", value_name = "PATH")]
        fix_output: Option<PathBuf>,
    },
    /// Implant a qparam set into a model, after a clean check.
    ///
    /// Runs the same analysis as `check`; any error refuses the write (exit 1)
    /// and prints the findings, even errors --select/--ignore hide. The
    /// output is written to a temporary file beside OUTPUT, read back and
    /// verified, then renamed into place; the inputs are never modified.
    /// The existing tool's form `q-implant MODEL QPARAM OUTPUT` is accepted
    /// too (it replaces OUTPUT, never an input).
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
        /// Replace OUTPUT if it exists. An input (the model, the qparam
        /// file, its npy files) is never replaced.
        #[arg(long)]
        force: bool,
        /// Keep float model inputs and outputs: insert Quantize after each
        /// input and Dequantize before each output.
        #[arg(long)]
        float_io: bool,
        /// File layout; `auto` is plain unless the model needs over 2 GiB.
        #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
        layout: LayoutArg,
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
        #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
        layout: LayoutArg,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Options shared by `check` and `apply`.
#[derive(clap::Args)]
struct AnalysisArgs {
    /// Report only these codes, prefixes or rule names, comma-separated
    /// (`Q5,Q601`). Hiding a finding never lets `apply` write past an error.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    select: Vec<String>,
    /// Do not report these codes, prefixes or rule names (`Q7` silences the
    /// spec warnings; for `apply --deny warnings`, it also waives them).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    ignore: Vec<String>,
    /// Accept npy paths outside the qparam directory (only for trusted files).
    #[arg(long)]
    allow_outside_paths: bool,
    /// Copy parameters through Reshape, Transpose, Squeeze, ExpandDims,
    /// Split, Slice, StridedSlice, Gather, MaxPool2D, Pad, PadV2 and
    /// MirrorPad to outputs the set leaves out (`check` counts them as
    /// covered, `apply` writes them).
    #[arg(long)]
    propagate: bool,
    /// Tensors that may stay float (mixed precision), comma-separated;
    /// their coverage findings become warnings.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    allow_float: Vec<String>,
}

impl AnalysisArgs {
    fn options(&self, float_io: bool) -> CheckOptions {
        CheckOptions {
            load: LoadOptions {
                allow_outside_paths: self.allow_outside_paths,
            },
            allow_float: self.allow_float.clone(),
            propagate: self.propagate,
            float_io,
        }
    }

    /// The report filter; a pattern that matches no rule is an error.
    fn filter(&self) -> Result<Filter, report::FilterError> {
        Filter::new(&self.select, &self.ignore)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Graphical report with the qparam.json source, labels and help.
    Human,
    /// One JSON document (see docs/check-json.md).
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    /// Plain when it fits in a FlatBuffer (under 2 GiB), large otherwise.
    Auto,
    /// Every payload inside the FlatBuffer.
    Plain,
    /// Payloads after the FlatBuffer, addressed by `Buffer.offset/size`.
    Large,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Layout {
        match l {
            LayoutArg::Auto => Layout::Auto,
            LayoutArg::Plain => Layout::Plain,
            LayoutArg::Large => Layout::Large,
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
/// `apply MODEL QPARAM -o OUTPUT --force` (that tool replaced OUTPUT; the
/// inputs stay protected). Only when MODEL is an existing file or reads as
/// a path (`model.circle`, `out/m`), so that a mistyped subcommand gets
/// clap's suggestion instead, and a mistyped model path `apply`'s message.
fn legacy_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let subcommands = ["check", "apply", "inspect", "rewrite", "rules", "help"];
    let looks_like_path = |a: &std::ffi::OsString| {
        let p = std::path::Path::new(a);
        p.is_file() || p.extension().is_some() || p.components().count() > 1
    };
    let positional = args.len() == 4
        && args[1..]
            .iter()
            .all(|a| !a.to_string_lossy().starts_with('-'))
        && looks_like_path(&args[1]);
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
            let filter = analysis.filter()?;
            let file = CircleFile::open(&model)?;
            let graph = Graph::new(&file);
            let options = analysis.options(false);
            options.check_allow_float(&graph)?;
            let mut result = analysis::check(&graph, &qparam, &options)?;
            let mut qparam = qparam;
            if fix {
                let plan = fix::plan(&graph, &result, &options)?;
                if plan.is_empty() {
                    for f in &plan.left {
                        eprintln!("left as is `{}`: {}", f.key, f.what);
                    }
                    eprintln!("nothing to fix");
                } else {
                    let new_files = plan.new_files();
                    let mut inputs: Vec<&std::path::Path> = vec![&model];
                    inputs.extend(
                        result
                            .qparam
                            .entries
                            .iter()
                            .flat_map(|e| [&e.scale, &e.zerop, &e.value])
                            .flatten()
                            .map(|f| f.value.path.as_path()),
                    );
                    inputs.extend(new_files.iter().map(|p| p.as_path()));
                    let written =
                        fix::write(&result.qparam, &plan.text, fix_output.as_deref(), &inputs)?;
                    for f in &plan.fixed {
                        eprintln!("fixed `{}`: {}", f.key, f.what);
                    }
                    for f in &plan.left {
                        eprintln!("left as is `{}`: {}", f.key, f.what);
                    }
                    plan.keep_arrays();
                    if let Some(backup) = &written.backup {
                        eprintln!("the original is kept as {}", backup.display());
                    }
                    eprintln!(
                        "wrote {}; the findings below are for it",
                        written.path.display()
                    );
                    result = analysis::check(&graph, &written.path, &options)?;
                    qparam = written.path;
                }
            }
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            let view = View::new(&result, &filter);
            emit(&report::render(
                &view,
                &sources,
                format.into(),
                color.enabled(),
            ));
            Ok(if view.failing(deny.is_some()) > 0 {
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
            let filter = analysis.filter()?;
            let request = ApplyRequest {
                model: &model,
                qparam: &qparam,
                output: &output,
                check: analysis.options(float_io),
                layout: layout.into(),
                force,
                dry_run,
                deny_warnings: deny.is_some(),
            };
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            let show = |a: &analysis::Analysis| {
                let view = View::new(a, &filter);
                if !view.shown.is_empty() || view.hidden > 0 {
                    eprint!(
                        "{}",
                        report::render(&view, &sources, Format::Human, color.enabled())
                    );
                }
            };
            match apply::run(&request, &|code| !filter.shows_code(code))? {
                Outcome::Refused { analysis, refusal } => {
                    show(&analysis);
                    let hidden: Vec<String> = refusal
                        .codes
                        .iter()
                        .filter(|(c, _)| !filter.shows_code(c))
                        .map(|(c, n)| format!("{c} ×{n}"))
                        .collect();
                    if !hidden.is_empty() {
                        eprintln!(
                            "findings hidden by --select/--ignore still refuse the write: {}",
                            hidden.join(", ")
                        );
                    }
                    eprintln!(
                        "refused: {} errors{}; nothing was written to {}",
                        refusal.errors,
                        if refusal.warnings > 0 {
                            format!(" and {} denied warnings", refusal.warnings)
                        } else {
                            String::new()
                        },
                        output.display()
                    );
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
                    for c in &changes {
                        if let Source::Propagated { from, op } = &c.source {
                            eprintln!(
                                "propagated: `{}` takes the parameters of `{}` through {op}",
                                table::shorten(&c.name),
                                table::shorten(from)
                            );
                        }
                    }
                    for line in &inserted {
                        eprintln!("inserted: {}", table::shorten(line));
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
            q_implant::files::refuse_inputs(&output, [model.as_path()])?;
            let file = CircleFile::open(&model)?;
            let parts = ModelParts::from_file(&file)?;
            let written = model::save(&parts, layout.into(), &output, force)?;
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
    let mut rows = vec![vec![
        "tensor".to_string(),
        "dtype".into(),
        "bytes".into(),
        "source".into(),
    ]];
    let (mut before, mut after) = (0u64, 0u64);
    for c in changes {
        before += c.bytes_before;
        after += c.bytes_after;
        let source = match &c.source {
            Source::Entry { key } => format!("entry `{key}`"),
            Source::Propagated { from, op } => format!("propagated from `{from}` through {op}"),
        };
        rows.push(vec![
            c.name.clone(),
            format!("{} -> {}", c.from, c.to),
            format!("{} -> {}", c.bytes_before, c.bytes_after),
            source,
        ]);
    }
    let mut out = table::layout(&rows, &[false, false, true, false]);
    for line in inserted {
        let _ = writeln!(out, "inserted: {}", table::shorten(line));
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
