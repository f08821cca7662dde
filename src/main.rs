//! The `q-implant` command line: parses arguments and calls the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use q_implant::analysis::{self, rules, CheckOptions, Target};
use q_implant::apply::{self, ApplyRequest, Outcome};
use q_implant::config::Config;
use q_implant::fix;
use q_implant::graph::Graph;
use q_implant::implant::Change;
use q_implant::inspect;
use q_implant::model::{self, CircleFile, Layout, ModelParts};
use q_implant::plan::Source;
use q_implant::progress::Progress;
use q_implant::qparam::LoadOptions;
use q_implant::report::{self, ColorChoice, Filter, Format, Sources, Style, View};
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
    /// Print the findings and nothing else: no status lines, no closing
    /// summary, no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more on stderr: the configuration file used, and each phase
    /// with its time.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Colours. `auto`: off when NO_COLOR is set; on when FORCE_COLOR or
    /// CLICOLOR_FORCE is (not 0 or false); off when TERM=dumb; otherwise on exactly
    /// when the output is a terminal.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
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
        /// `human` (grouped by key), `concise` (a line each) and `full`
        /// (drawn on the source) for people; `json`, `sarif` and `github`
        /// for tools.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Count the findings per code instead of listing them.
        #[arg(long)]
        statistics: bool,
        /// Treat warnings as errors for the exit code (`--deny warnings`).
        #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
        deny: Option<String>,
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
    /// Runs the same analysis as `check`; any error refuses the write (exit 1),
    /// including errors --select/--ignore hide (their codes are named). The
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
        /// File layout; `auto` is plain unless the model needs over 2 GiB.
        #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
        layout: LayoutArg,
        /// Refuse on warnings too (`--deny warnings`).
        #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
        deny: Option<String>,
        /// How findings are shown: `human`, `concise` or `full`.
        #[arg(long, value_enum, default_value_t = PeopleFormat::Human)]
        format: PeopleFormat,
    },
    /// List the rules, or explain one (`q-implant rules Q103`).
    Rules {
        /// A rule code (Q103), a code prefix (Q8: those rules) or a name
        /// (duplicate-key).
        code: Option<String>,
        /// Print every rule's documentation as Markdown (docs/rules.md).
        #[arg(long)]
        markdown: bool,
        /// Print what the `--target` runtimes were measured to do, and the
        /// rule that reports each failure, as Markdown (docs/targets.md).
        #[arg(long, conflicts_with = "markdown")]
        targets_markdown: bool,
    },
    /// Show every tensor of a model: names, types, shapes, constants, the
    /// operators that produce and consume it, and quantization.
    Inspect {
        /// The .circle model.
        model: PathBuf,
        /// `table` for people, `json` for programs (a stable format).
        #[arg(long, value_enum, default_value_t = InspectFormat::Table)]
        format: InspectFormat,
    },
    /// Print a completion script for a shell.
    ///
    /// bash: `q-implant completions bash > ~/.local/share/bash-completion/completions/q-implant`;
    /// zsh: `q-implant completions zsh > ~/.zfunc/_q-implant`;
    /// fish: `q-implant completions fish > ~/.config/fish/completions/q-implant.fish`.
    Completions { shell: clap_complete::Shell },
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
    #[arg(long, overrides_with = "no_propagate")]
    propagate: bool,
    /// Do not propagate (overrides `propagate = true` in a configuration
    /// file).
    #[arg(long, overrides_with = "propagate")]
    no_propagate: bool,
    /// Tensors that may stay float (mixed precision), comma-separated;
    /// their coverage findings become warnings.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    allow_float: Vec<String>,
    /// Keep float model inputs and outputs: `apply` inserts Quantize after
    /// each input and Dequantize before each output (`check` checks that
    /// model).
    #[arg(long, overrides_with = "no_float_io")]
    float_io: bool,
    /// Quantize the model inputs and outputs (the default; overrides
    /// `float-io = true` in a configuration file).
    #[arg(long, overrides_with = "float_io")]
    no_float_io: bool,
    /// Also check what this runtime rejects or computes wrongly (the Q8xx
    /// rules, from the support measured in docs/targets.md); its errors
    /// refuse `apply` like any other.
    #[arg(long, value_enum, value_name = "RUNTIME", conflicts_with = "no_target")]
    target: Option<TargetArg>,
    /// Check for no runtime (overrides `target` in a configuration file).
    #[arg(long)]
    no_target: bool,
    /// Read settings from this file (a q-implant.toml, or a pyproject.toml
    /// with [tool.q-implant]) instead of the one found by walking up from
    /// QPARAM's directory.
    #[arg(long, value_name = "PATH", conflicts_with = "isolated")]
    config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long)]
    isolated: bool,
}

/// What a run of `check` or `apply` uses: the command line over the
/// configuration file over the defaults.
struct Settings {
    options: CheckOptions,
    filter: Filter,
    /// The configuration file read, if any.
    config: Option<PathBuf>,
    /// Files passed over on the way to it, with the reason.
    skipped: Vec<(PathBuf, String)>,
    /// Only target rules selected, and no target: nothing can be found.
    target_rules_without_target: bool,
}

impl AnalysisArgs {
    fn settings(&self, model: &Path, qparam: &Path) -> miette::Result<Settings> {
        let mut skipped = Vec::new();
        let config = if self.isolated {
            None
        } else if let Some(path) = &self.config {
            Some(Config::read(path)?.ok_or_else(|| {
                miette::miette!(
                    code = "config::empty",
                    help = "add a [tool.q-implant] table, or give a q-implant.toml",
                    "{} has no [tool.q-implant] table",
                    path.display()
                )
            })?)
        } else {
            let dir = qparam.parent().filter(|d| !d.as_os_str().is_empty());
            let found = Config::discover(dir.unwrap_or(Path::new(".")))?;
            skipped = found.skipped;
            found.config
        };
        let file = match &config {
            Some(c) => c.for_model(model)?,
            None => Default::default(),
        };
        // Patterns are checked in every table, not only this model's: a
        // typo in another model's table would otherwise wait for that model.
        if let Some(c) = &config {
            for (level, s) in c.levels() {
                let (select, ignore) = (
                    s.select.clone().unwrap_or_default(),
                    s.ignore.clone().unwrap_or_default(),
                );
                Filter::new(&select, &ignore).map_err(|e| {
                    let flag = e.flag();
                    miette::Report::new(e).wrap_err(format!(
                        "in {}, the setting `{flag}` of {level}",
                        c.path.display()
                    ))
                })?;
            }
        }
        let in_file = |e: miette::Report, key: &str| match &config {
            Some(c) => e.wrap_err(format!("in {}, the setting `{key}`", c.path.display())),
            None => e,
        };
        let pick = |cli: &Vec<String>, file: &Option<Vec<String>>| -> (Vec<String>, bool) {
            match file {
                Some(f) if cli.is_empty() => (f.clone(), true),
                _ => (cli.clone(), false),
            }
        };
        let (select, select_from_file) = pick(&self.select, &file.select);
        let (ignore, ignore_from_file) = pick(&self.ignore, &file.ignore);
        let filter = Filter::new(&select, &ignore).map_err(|e| {
            let from_file = match e.flag() {
                "select" => select_from_file,
                _ => ignore_from_file,
            };
            let flag = e.flag();
            let e = miette::Report::new(e);
            if from_file {
                in_file(e, flag)
            } else {
                e
            }
        })?;
        let (allow_float, _) = pick(&self.allow_float, &file.allow_float);
        let flag = |on: bool, off: bool, file: Option<bool>| {
            if on {
                true
            } else if off {
                false
            } else {
                file.unwrap_or(false)
            }
        };
        let target = match (self.target, &file.target) {
            _ if self.no_target => None,
            (Some(TargetArg::Onert), _) => Some(Target::Onert),
            (None, Some(name)) => Some(Target::parse(name).ok_or_else(|| {
                in_file(
                    miette::miette!(
                        code = "config::target",
                        help = "the targets are: onert",
                        "there is no target `{name}`"
                    ),
                    "target",
                )
            })?),
            (None, None) => None,
        };
        let target_rule =
            |p: &String| p.to_ascii_uppercase().starts_with("Q8") || p.starts_with("onert-");
        Ok(Settings {
            target_rules_without_target: target.is_none()
                && !select.is_empty()
                && select.iter().all(target_rule),
            options: CheckOptions {
                load: LoadOptions {
                    allow_outside_paths: self.allow_outside_paths,
                },
                allow_float,
                propagate: flag(self.propagate, self.no_propagate, file.propagate),
                float_io: flag(self.float_io, self.no_float_io, file.float_io),
                target,
            },
            filter,
            config: config.map(|c| c.path),
            skipped,
        })
    }
}

/// Whether `--allow-float` names came from the command line or the file,
/// so that an unknown one is blamed on the right place.
fn check_allow_float(
    settings: &Settings,
    cli: &AnalysisArgs,
    graph: &Graph<'_>,
) -> miette::Result<()> {
    settings
        .options
        .check_allow_float(graph)
        .map_err(|e| match &settings.config {
            Some(path) if cli.allow_float.is_empty() => miette::Report::new(e)
                .wrap_err(format!("in {}, the setting `allow-float`", path.display())),
            _ => miette::Report::new(e),
        })
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Findings grouped by key, each with its line, help and candidates.
    Human,
    /// One line per finding: `path:line:col: error[Q501] message`.
    Concise,
    /// Each finding drawn on the qparam.json source, with every label.
    Full,
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
            FormatArg::Concise => Format::Concise,
            FormatArg::Full => Format::Full,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetArg {
    /// onert 0.1.0, the ONE runtime (CPU backend).
    Onert,
}

#[derive(Clone, Copy, ValueEnum)]
enum PeopleFormat {
    /// Findings grouped by key.
    Human,
    /// One line per finding.
    Concise,
    /// Each finding drawn on the qparam.json source.
    Full,
}

impl From<PeopleFormat> for Format {
    fn from(f: PeopleFormat) -> Format {
        match f {
            PeopleFormat::Human => Format::Human,
            PeopleFormat::Concise => Format::Concise,
            PeopleFormat::Full => Format::Full,
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
    /// The style of text for people on stdout.
    fn choice(self) -> ColorChoice {
        match self {
            Color::Auto => ColorChoice::Auto,
            Color::Always => ColorChoice::Always,
            Color::Never => ColorChoice::Never,
        }
    }

    fn stdout_style(self) -> Style {
        use std::io::IsTerminal;
        let terminal = std::io::stdout().is_terminal();
        let choice = self.choice();
        // COLUMNS is what the shell says the terminal is; trust it first.
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|&w| w > 0)
            .or_else(|| {
                terminal
                    .then(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
                    .flatten()
            })
            .filter(|_| terminal);
        Style {
            color: choice.resolve(|name| std::env::var(name).ok(), terminal),
            width,
            quiet: false,
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
/// inputs stay protected), with the options every command takes (`-q`,
/// `-v`, `--color`) anywhere. Only when MODEL is an existing file, so that
/// a mistyped subcommand gets clap's suggestion instead.
fn legacy_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The parser's own subcommands (and `help`), so a new one is never
    // mistaken for a model file; asked only when the form may apply.
    let is_subcommand =
        |name: &str| name == "help" || Cli::command().find_subcommand(name).is_some();
    let mut positional = Vec::new();
    let mut options = Vec::new();
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        let text = a.to_string_lossy();
        match text.as_ref() {
            "-q" | "--quiet" | "-v" | "--verbose" => options.push(a.clone()),
            "--color" => {
                options.push(a.clone());
                options.extend(rest.next().cloned());
            }
            t if t.starts_with("--color=") => options.push(a.clone()),
            // Any other option: not the legacy form.
            t if t.starts_with('-') => return args,
            _ => positional.push(a.clone()),
        }
    }
    let legacy = positional.len() == 3
        && Path::new(&positional[0]).is_file()
        && !is_subcommand(&positional[0].to_string_lossy());
    if !legacy {
        return args;
    }
    let mut out = vec![
        args[0].clone(),
        "apply".into(),
        positional[0].clone(),
        positional[1].clone(),
        "-o".into(),
        positional[2].clone(),
        "--force".into(),
    ];
    out.extend(options);
    out
}

/// Errors of the run itself (exit 2) as miette draws them on stderr: as
/// wide as the terminal, unwrapped in a pipe, coloured as `--color` says.
fn error_style(choice: Color) {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let color = choice
        .choice()
        .resolve(|name| std::env::var(name).ok(), terminal);
    let width = terminal
        .then(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
        .flatten()
        .unwrap_or(usize::MAX / 2);
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .width(width)
                .color(color)
                .unicode(true)
                .build(),
        )
    }));
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(legacy_args(args.clone())) {
        Ok(cli) => cli,
        Err(e) => {
            let first = args.get(1).map(Path::new);
            if e.kind() == clap::error::ErrorKind::InvalidSubcommand
                && first.is_some_and(|p| p.extension().is_some() || p.components().count() > 1)
            {
                let _ = e.print();
                let first = first.unwrap_or(Path::new(""));
                if first.is_file() {
                    eprintln!(
                        "\nnote: the form `q-implant MODEL QPARAM OUTPUT` takes exactly three paths (and only -q, -v and --color besides)"
                    );
                } else {
                    eprintln!(
                        "\nnote: there is no file `{}` either; the form `q-implant MODEL QPARAM OUTPUT` needs an existing MODEL",
                        first.display()
                    );
                }
                return ExitCode::from(2);
            }
            e.exit()
        }
    };
    error_style(cli.color);
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

/// What goes to stderr besides errors: status lines (unless `--quiet`),
/// phases and their times (with `--verbose`), the progress line.
struct Ui {
    quiet: bool,
    verbose: bool,
    started: Instant,
}

impl Ui {
    fn status(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn verbose(&self, line: &str) {
        if self.verbose {
            eprintln!("[{:>6.2} s] {line}", self.started.elapsed().as_secs_f64());
        }
    }

    fn progress(&self, phase: &str) -> Progress {
        self.verbose(phase);
        Progress::start(phase, !self.quiet && !self.verbose)
    }

    fn config(&self, settings: &Settings) {
        if settings.target_rules_without_target {
            self.status("warning: --select names only target rules (Q8xx), which run only with --target onert (or `target` in the configuration)");
        }
        // Said even with --quiet: it changes which settings apply.
        for (path, why) in &settings.skipped {
            eprintln!(
                "warning: skipped {} ({why}); --isolated reads no configuration",
                path.display()
            );
        }
        match &settings.config {
            Some(path) => self.verbose(&format!("configuration: {}", path.display())),
            None => self.verbose("configuration: none"),
        }
    }
}

fn run(cli: Cli) -> miette::Result<ExitCode> {
    let ui = Ui {
        quiet: cli.quiet,
        verbose: cli.verbose,
        started: Instant::now(),
    };
    let mut style = cli.color.stdout_style();
    match cli.command {
        Command::Check {
            model,
            qparam,
            analysis,
            format,
            statistics,
            deny,
            fix,
            fix_output,
        } => {
            let format: Format = format.into();
            if statistics && !matches!(format, Format::Human | Format::Concise | Format::Full) {
                miette::bail!(
                    code = "args::statistics",
                    help = "use --statistics with the human formats; the JSON summary counts errors and warnings",
                    "--statistics is for people; it cannot be combined with a --format for tools"
                );
            }
            let settings = analysis.settings(&model, &qparam)?;
            ui.config(&settings);
            let options = settings.options.clone();
            let progress = ui.progress(&format!("reading {}", model.display()));
            let file = CircleFile::open(&model)?;
            let graph = Graph::new(&file);
            check_allow_float(&settings, &analysis, &graph)?;
            progress.phase(&format!("checking {}", qparam.display()));
            ui.verbose(&format!("checking {}", qparam.display()));
            let mut result = analysis::check(&graph, &qparam, &options)?;
            let mut qparam = qparam;
            if fix {
                progress.phase("working out the fixes");
                ui.verbose("working out the fixes");
                let plan = fix::plan(&graph, &result, &options)?;
                if plan.is_empty() {
                    progress.finish();
                    for f in &plan.left {
                        ui.status(&format!("left as is `{}`: {}", f.key, f.what));
                    }
                    ui.status("nothing to fix");
                } else {
                    let new_files = plan.new_files();
                    let mut inputs: Vec<&Path> = vec![&model];
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
                    progress.finish();
                    for f in &plan.fixed {
                        ui.status(&format!("fixed `{}`: {}", f.key, f.what));
                    }
                    for f in &plan.left {
                        ui.status(&format!("left as is `{}`: {}", f.key, f.what));
                    }
                    plan.keep_arrays();
                    if let Some(backup) = &written.backup {
                        ui.status(&format!("the original is kept as {}", backup.display()));
                    }
                    ui.status(&format!(
                        "wrote {}; the findings below are for it",
                        written.path.display()
                    ));
                    let progress = ui.progress(&format!("checking {}", written.path.display()));
                    result = analysis::check(&graph, &written.path, &options)?;
                    progress.finish();
                    qparam = written.path;
                }
            } else {
                progress.finish();
            }
            fix::mark_fixable(&graph, &mut result, &options);
            ui.verbose("reporting");
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            let view = View::new(&result, &settings.filter);
            style.quiet = ui.quiet;
            emit(&if statistics {
                report::render_statistics(&view, &sources, &style)
            } else {
                report::render(&view, &sources, format, &style)
            });
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
            layout,
            deny,
            format,
        } => {
            let settings = analysis.settings(&model, &qparam)?;
            ui.config(&settings);
            if !settings.options.allow_float.is_empty() {
                let file = CircleFile::open(&model)?;
                check_allow_float(&settings, &analysis, &Graph::new(&file))?;
            }
            let filter = &settings.filter;
            let request = ApplyRequest {
                model: &model,
                qparam: &qparam,
                output: &output,
                check: settings.options.clone(),
                layout: layout.into(),
                force,
                dry_run,
                deny_warnings: deny.is_some(),
            };
            let sources = Sources {
                model: &model,
                qparam: &qparam,
            };
            style.quiet = ui.quiet;
            let show = |a: &analysis::Analysis| {
                let view = View::new(a, filter);
                if !view.shown.is_empty() || view.hidden > 0 {
                    emit(&report::render(&view, &sources, format.into(), &style));
                }
            };
            let progress = ui.progress(&format!(
                "checking {} and writing {}",
                qparam.display(),
                output.display()
            ));
            let outcome = apply::run(&request, &|code| !filter.shows_code(code));
            progress.finish();
            match outcome? {
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
                    let plural = |n: usize, one: &str, many: &str| {
                        format!("{n} {}", if n == 1 { one } else { many })
                    };
                    eprintln!(
                        "refused: {}{}; nothing was written to {}",
                        plural(refusal.errors, "error", "errors"),
                        if refusal.warnings > 0 {
                            format!(
                                " and {}",
                                plural(refusal.warnings, "denied warning", "denied warnings")
                            )
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
                    ui.status(&format!(
                        "dry run: nothing was written to {}",
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
                            ui.status(&format!(
                                "propagated: `{}` takes the parameters of `{}` through {op}",
                                table::shorten(&c.name),
                                table::shorten(from)
                            ));
                        }
                    }
                    for line in &inserted {
                        ui.status(&format!("inserted: {}", table::shorten(line)));
                    }
                    ui.status(&format!(
                        "wrote {}: {} tensors quantized ({} propagated), {} bytes, {} layout",
                        output.display(),
                        changes.len(),
                        propagated,
                        written.bytes,
                        written.layout_name()
                    ));
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Command::Rules {
            code,
            markdown,
            targets_markdown,
        } => {
            if targets_markdown {
                emit(&rules::target::markdown());
            } else if markdown {
                emit(&rules::markdown());
            } else if let Some(code) = code {
                if let Some(rule) = rules::by_code(&code) {
                    emit(&format!(
                        "{} ({}): {}\n\n{}",
                        rule.code, rule.name, rule.summary, rule.docs
                    ));
                } else {
                    // A prefix, as --select takes it: the rules it selects.
                    let prefix = code.to_ascii_uppercase();
                    let listing: String = rules::listing()
                        .lines()
                        .filter(|l| l.starts_with(&prefix) && prefix.starts_with('Q'))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    if listing.is_empty() {
                        miette::bail!(
                            code = "rules::unknown",
                            help = "`q-implant rules` lists every code",
                            "there is no rule `{code}`"
                        );
                    }
                    emit(&listing);
                }
            } else {
                emit(&rules::listing());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { model, format } => {
            let progress = ui.progress(&format!("reading {}", model.display()));
            let file = CircleFile::open(&model)?;
            let report = inspect::Report::new(&file);
            progress.finish();
            match format {
                InspectFormat::Table => emit(&report.to_table()),
                InspectFormat::Json => emit(&(report.to_json() + "\n")),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "q-implant", &mut out);
            let mut script = String::from_utf8_lossy(&out).into_owned();
            if shell == clap_complete::Shell::Bash {
                // The generator spells the subcommands' case labels from
                // the hyphenated name differently from the state it sets
                // (`q__subcmd__implant__subcmd__check` against
                // `q__implant__subcmd__check`), so nothing after a
                // subcommand would complete; one spelling for both.
                script = script.replace("q__subcmd__implant__", "q__implant__");
            }
            emit(&script);
            Ok(ExitCode::SUCCESS)
        }
        Command::Rewrite {
            model,
            output,
            layout,
            force,
        } => {
            q_implant::files::refuse_inputs(&output, [model.as_path()])?;
            let progress = ui.progress(&format!("writing {}", output.display()));
            let file = CircleFile::open(&model)?;
            let parts = ModelParts::from_file(&file)?;
            let written = model::save(&parts, layout.into(), &output, force)?;
            progress.finish();
            ui.status(&format!(
                "wrote {} ({} bytes, {} layout)",
                output.display(),
                written.bytes,
                written.layout_name()
            ));
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
