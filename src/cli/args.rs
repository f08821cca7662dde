//! The command line's arguments: what clap parses, and how it maps onto
//! the library's settings.

use std::path::PathBuf;

use crate::analysis::{Fallback, Target};
use crate::commands::{ConfigSource, Overrides, TargetChoice};
use crate::model::Layout;
use crate::report::{ColorChoice, Format, Style};
use clap::{Parser, Subcommand, ValueEnum};

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print the findings and nothing else: no status lines, no closing
    /// summary, no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more on stderr: the configuration file used, and each phase
    /// with its time.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Colours. `auto`: off when NO_COLOR is set; on when FORCE_COLOR or
    /// CLICOLOR_FORCE is (not 0 or false); off when TERM=dumb; otherwise on exactly
    /// when the output is a terminal.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Subcommand)]
pub enum Command {
    /// Find every problem in a qparam set: JSON, fields, npy files, names,
    /// coverage of the graph and the quantization spec.
    ///
    /// Reads the model and the npy headers (float weights only where a
    /// suggestion needs them) and reports all findings in one run, each with
    /// its place in qparam.json and what to do. Exit code 0: no errors;
    /// 1: errors (or warnings with --deny warnings); 2: the check could not run.
    #[command(after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Implant a qparam set into a model, after a clean check.
    ///
    /// Runs the same analysis as `check`; any error refuses the write (exit 1),
    /// including errors --select/--ignore hide (their codes are named). The
    /// output is written to a temporary file beside OUTPUT, read back and
    /// verified, then renamed into place; the inputs are never modified.
    /// The existing tool's form `q-implant MODEL QPARAM OUTPUT` is accepted
    /// too (it replaces OUTPUT, never an input).
    Apply(ApplyArgs),
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
    /// Read the parameters a quantized model carries back as a qparam set.
    ///
    /// Writes DIR/qparam.json and its npy files (float32 scales, int64 zero
    /// points, each constant's data) for every tensor with quantization
    /// parameters, keyed by tensor name, in the format `check` and `apply`
    /// read: `apply` of the float model with that set writes the same model
    /// again, byte for byte (with the same options). Tensors `apply`
    /// inserted (the twins of --float-io and --allow-float) are listed, not
    /// keys. DIR is built beside its final place and renamed into it; a
    /// failure or a signal leaves nothing.
    #[command(after_long_help = EXTRACT_EXAMPLES)]
    Extract(ExtractArgs),
    /// Compare two parameter sets; each side is a qparam set or a model.
    ///
    /// A side is a set when it is a .json file or a directory holding
    /// qparam.json, and a model when it is a circle file (its parameters as
    /// `extract` reads them). Per key: only in A or B, dtype,
    /// quantized_dimension, scale (largest ratio over the channels), zero
    /// point (largest shift), values (elements changed, largest change in
    /// steps); worst first. Exit code as diff(1): 0 the same, 1 different,
    /// 2 trouble.
    #[command(after_long_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Run the float model and the quantized one side by side and show what
    /// quantization costs, tensor by tensor.
    ///
    /// `verify MODEL QPARAM` verifies the model `apply` would write from the
    /// set (with the same settings), without writing it;
    /// `verify QUANTIZED --reference FLOAT` verifies any quantized model
    /// against its float original. Both run in q-implant's interpreter,
    /// which simulates an integer runtime (every quantized tensor rounded to
    /// its parameters). For each tensor: SQNR in dB (higher is better), the
    /// largest error in steps of its own scale, the share of float values
    /// clipped by its range, and MPEIR; for each output also MAE, the
    /// largest error, PSNR and top-1/top-5 agreement. The worst tensors come
    /// first, each with the likely cause (clipping: the range is too small;
    /// a large error without clipping: the scale, zero point or layout).
    /// docs/verify.md explains how to read it. Exit code 0: it ran; 1: an
    /// output is under --fail-under; 2: it could not run.
    #[command(after_long_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
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

const CHECK_EXAMPLES: &str = "\
Examples:
  q-implant check model.circle export/qparam.json
  q-implant check model.circle export/qparam.json --fix    # rename, repair, complete
  q-implant check model.circle export/qparam.json --fix --calibrate samples/   # and calibrate
  q-implant check model.circle export/qparam.json --fix --calibrate=a.npz --calibration minmax
  q-implant check model.circle export/qparam.json --input samples/   # map by value on data";

const EXTRACT_EXAMPLES: &str = "\
Examples:
  q-implant extract model.q.circle -o extracted/
  q-implant diff extracted/ export/            # what the model carries against the export
  q-implant extract model.q.circle -o extracted/ \\
      --keys-from export/qparam.json --float-model model.circle   # keyed as the export is";

const VERIFY_EXAMPLES: &str = "\
Examples:
  q-implant verify model.circle export/qparam.json                 # 4 random samples
  q-implant verify model.circle export/qparam.json --input calib/  # real inputs (.npy/.npz)
  q-implant verify model.q.circle --reference model.circle --format html -o report.html
  q-implant verify model.circle export/qparam.json --fail-under 30 # CI: exit 1 below 30 dB";

const DIFF_EXAMPLES: &str = "\
Examples:
  q-implant diff model.q.circle export/qparam.json   # does the model carry the set?
  q-implant diff old/qparam.json new/ --stat          # how many keys differ, and how
  q-implant diff a.q.circle b.q.circle --rtol 1e-6 --format json";

// The arguments of `extract` (its help is the variant's).
#[derive(clap::Args)]
pub struct ExtractArgs {
    /// The quantized .circle model.
    #[arg(value_name = "QUANTIZED")]
    pub model: PathBuf,
    /// The directory to write qparam.json and its npy files into.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Replace DIR when it holds anything (never when it holds an input).
    #[arg(long)]
    pub force: bool,
    /// Key the set by this set's keys where they resolve (PyTorch names,
    /// say), as `check` resolves them against --float-model: a key naming a
    /// tensor, or one the name matcher is confident of. Other tensors keep
    /// their names.
    #[arg(long, value_name = "QPARAM", requires = "float_model")]
    pub keys_from: Option<PathBuf>,
    /// The float model --keys-from's set was made for.
    #[arg(long, value_name = "MODEL", requires = "keys_from")]
    pub float_model: Option<PathBuf>,
    /// `human`: summary lines on stderr; `json`: a record on stdout
    /// (docs/extract.md).
    #[arg(long, value_enum, default_value_t = RecordFormat::Human)]
    pub format: RecordFormat,
}

// The arguments of `verify` (its help is the variant's).
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The float .circle model with QPARAM; the quantized model with
    /// --reference.
    pub model: PathBuf,
    /// The qparam set to verify as `apply` would implant it.
    #[arg(required_unless_present = "reference", conflicts_with = "reference")]
    pub qparam: Option<PathBuf>,
    /// The float model MODEL was quantized from: verify MODEL as it is.
    #[arg(long, value_name = "FLOAT")]
    pub reference: Option<PathBuf>,
    /// Samples: .npy files (a model with one input), .npz files (one
    /// array per input, named by the input or arr_0, arr_1, ...), or
    /// directories of them. Several may follow one --input (put it after
    /// MODEL and QPARAM), and --input may be repeated. Without it, random
    /// samples.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub input: Vec<PathBuf>,
    /// How many random samples to draw when no --input is given: uniform
    /// over the range each quantized input represents, standard normal for
    /// a float input.
    #[arg(long, value_name = "N", default_value_t = 4, conflicts_with = "input", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub samples: u32,
    /// The seed of the random samples (the same seed, the same samples).
    #[arg(long, value_name = "S", default_value_t = 0, conflicts_with = "input")]
    pub seed: u64,
    /// `human` (worst tensors first, then the outputs), `json`
    /// (docs/verify-json.md) or `html` (one self-contained page, with -o).
    #[arg(long, value_enum, default_value_t = VerifyFormat::Human)]
    pub format: VerifyFormat,
    /// Write the report here instead of stdout (written whole or not at
    /// all; an existing file only with --force).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Save each sample's graph outputs from both runs as
    /// DIR/sample<i>/float_<k>.npy and quantized_<k>.npy.
    #[arg(long, value_name = "DIR")]
    pub save_outputs: Option<PathBuf>,
    /// Replace the file of -o, or the directory of --save-outputs.
    #[arg(long)]
    pub force: bool,
    /// Exit 1 when an output's SQNR is below this many dB.
    #[arg(long, value_name = "DB", allow_negative_numbers = true)]
    pub fail_under: Option<f64>,
    /// The most memory the tensors of both runs may take (`4GiB`,
    /// `512MiB`, or bytes); a model that needs more is refused up front.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub max_memory: u64,
    /// List every tensor in the human report, not only the worst.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// A size in bytes: a number with an optional unit (B, KiB, MiB, GiB,
/// TiB, or K, M, G, T meaning the same).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        "t" | "tib" | "tb" => 40,
        _ => {
            return Err(format!(
                "`{unit}` is not a unit; use B, KiB, MiB, GiB or TiB"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| "a size such as 4GiB, 512MiB or 1000000".to_string())?;
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err("a size of at least one byte, such as 4GiB".into());
    }
    Ok(bytes as u64)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// The worst tensors with their likely causes, then the outputs.
    Human,
    /// One JSON document (docs/verify-json.md).
    Json,
    /// One self-contained HTML page: a chart and a sortable table.
    Html,
}

// The arguments of `diff` (its help is the variant's).
#[derive(clap::Args)]
pub struct DiffArgs {
    /// A qparam set (qparam.json or its directory) or a .circle model.
    pub a: PathBuf,
    /// The other side, either kind too.
    pub b: PathBuf,
    /// Count the keys that differ in each way instead of listing them.
    #[arg(long)]
    pub stat: bool,
    /// `human` (grouped by key) or `json` (docs/diff-json.md).
    #[arg(long, value_enum, default_value_t = RecordFormat::Human)]
    pub format: RecordFormat,
    /// Two scales are equal when they differ by at most this fraction of
    /// the larger (default 0: exactly equal, as float32).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = parse_rtol)]
    pub rtol: f64,
    /// Accept npy paths outside a set's directory (only for trusted files).
    #[arg(long)]
    pub allow_outside_paths: bool,
}

fn parse_rtol(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("a finite number, 0 or more (1e-6 for one part in a million)".into()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    /// For people.
    Human,
    /// One JSON document on stdout, a versioned contract.
    Json,
}

// The arguments of `check` (its help is the variant's).
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The float .circle model.
    pub model: PathBuf,
    /// The exporter's qparam.json; npy paths are relative to its directory.
    pub qparam: PathBuf,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// `human` (grouped by key), `concise` (a line each) and `full`
    /// (drawn on the source) for people; `json`, `sarif` and `github`
    /// for tools.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Count the findings per code instead of listing them.
    #[arg(long)]
    pub statistics: bool,
    /// Treat warnings as errors for the exit code (`--deny warnings`).
    #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
    pub deny: Option<String>,
    /// Fix what is certain, then report what remains: rename keys the
    /// matcher resolves confidently, add a `quantized_dimension` that
    /// can only be 0, repair arrays (PyTorch layouts, float64 or 0-d
    /// scales, unquantized values) into new npy files, and add the
    /// entries the graph and the set determine (biases, constants,
    /// layout copies, outputs of affine steps). Writes qparam.json in
    /// place (keeping qparam.json.bak, or .bak.1, ...) unless
    /// --fix-output is given. Never changes an existing npy file.
    #[arg(long)]
    pub fix: bool,
    /// Write the fixed file here instead (a new file beside QPARAM; an
    /// existing file is never replaced).
    #[arg(long, requires = "fix", value_name = "PATH")]
    pub fix_output: Option<PathBuf>,
    /// With --fix: print what it would change (a unified diff of
    /// qparam.json and the npy files it would add) and write nothing.
    /// Exit code 1 when there is something to fix, 0 otherwise.
    #[arg(long, requires = "fix", conflicts_with = "fix_output")]
    pub diff: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Running the float model (`check` only: calibration changes the set, so
/// it goes through `check --fix`, where it is visible).
#[derive(clap::Args)]
pub struct RunArgs {
    /// With --fix: give every tensor the set leaves uncovered, and --fix
    /// cannot derive, parameters from the ranges the float model takes
    /// over these samples (.npy files for a one-input model, .npz files
    /// with an array per input, or directories of them), in the set's own
    /// scheme; then derive what depends on them (biases, copies). Without a
    /// PATH: --input's samples, or 16 random ones (warned). New entries go
    /// into new npy files and the fix report, with the number of samples.
    /// Put it after MODEL and QPARAM, or write --calibrate=PATH.
    #[arg(long, requires = "fix", num_args = 0.., value_name = "PATH")]
    pub calibrate: Option<Vec<PathBuf>>,
    /// How --calibrate reduces each tensor's per-sample minima and maxima,
    /// as ONE's record-minmax does: `percentile` (the 1st and 99th
    /// percentiles, linearly interpolated), `minmax` (the extremes), or
    /// `moving-average` (batches of 16, the average so far kept at 0.9,
    /// each new batch's extreme weighing 0.1).
    #[arg(long, value_enum, requires = "calibrate", default_value_t = CalibrationArg::Percentile)]
    pub calibration: CalibrationArg,
    /// Samples for mapping keys by the values they carry (forms as for
    /// --calibrate). Without it, keys the names and the graph leave to the
    /// order of modules are compared with the ranges of a few random
    /// samples drawn over the range the input's entry represents.
    #[arg(long, num_args = 1.., value_name = "PATH", conflicts_with = "no_run")]
    pub input: Vec<PathBuf>,
    /// Never run the model: keys are mapped by their names, content, graph
    /// position and order alone.
    #[arg(long, conflicts_with = "calibrate")]
    pub no_run: bool,
}

impl RunArgs {
    pub fn request(&self) -> crate::calibrate::RunRequest {
        use crate::calibrate::{reduce, CalibrateRequest, Method, RunRequest};
        RunRequest {
            no_run: self.no_run,
            inputs: self.input.clone(),
            arrays: Vec::new(),
            calibrate: self.calibrate.as_ref().map(|samples| CalibrateRequest {
                samples: samples.clone(),
                method: match self.calibration {
                    CalibrationArg::Percentile => reduce::PERCENTILE,
                    CalibrationArg::Minmax => Method::MinMax,
                    CalibrationArg::MovingAverage => reduce::MOVING_AVERAGE,
                },
            }),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalibrationArg {
    /// The 1st percentile of the minima and the 99th of the maxima.
    Percentile,
    /// The smallest minimum and the largest maximum.
    Minmax,
    /// A moving average over batches of 16 samples, each batch weighing
    /// 0.1 against the average's 0.9.
    MovingAverage,
}

// The arguments of `apply` (its help is the variant's).
#[derive(clap::Args)]
pub struct ApplyArgs {
    /// The float .circle model.
    pub model: PathBuf,
    /// The exporter's qparam.json.
    pub qparam: PathBuf,
    /// Where to write the quantized model.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Report what would change (tensors retyped, bytes before and
    /// after) without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace OUTPUT if it exists. An input (the model, the qparam
    /// file, its npy files) is never replaced.
    #[arg(long)]
    pub force: bool,
    /// File layout; `auto` is plain unless the model needs over 2 GiB.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub layout: LayoutArg,
    /// Refuse on warnings too (`--deny warnings`).
    #[arg(long, value_name = "warnings", value_parser = ["warnings"])]
    pub deny: Option<String>,
    /// How findings are shown: `human`, `concise` or `full`; `json`
    /// prints one record of the run on stdout instead (what was retyped,
    /// inserted and written, the findings' counts; docs/apply.md).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub format: ApplyFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// Findings grouped by key.
    Human,
    /// One line per finding.
    Concise,
    /// Each finding drawn on the qparam.json source.
    Full,
    /// A record of the run, for CI to keep.
    Json,
}

/// Options shared by `check` and `apply`.
#[derive(clap::Args)]
pub struct AnalysisArgs {
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
    /// What to do with an operator the target has no quantized kernel for
    /// (Q801): `float` runs it in float, between a DEQUANTIZE and a
    /// QUANTIZE `apply` inserts, and `check` warns of each (Q810).
    #[arg(long, value_enum, value_name = "HOW")]
    fallback: Option<FallbackArg>,
    /// Read settings from this file (a q-implant.toml, or a pyproject.toml
    /// with [tool.q-implant]) instead of the one found by walking up from
    /// QPARAM's directory.
    #[arg(long, value_name = "PATH", conflicts_with = "isolated")]
    config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long)]
    isolated: bool,
}

impl AnalysisArgs {
    /// What the command line sets; the rest comes from the configuration.
    pub fn overrides(&self) -> Overrides {
        let flag = |on: bool, off: bool| {
            if on {
                Some(true)
            } else if off {
                Some(false)
            } else {
                None
            }
        };
        Overrides {
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            allow_float: self.allow_float.clone(),
            allow_outside_paths: self.allow_outside_paths,
            propagate: flag(self.propagate, self.no_propagate),
            float_io: flag(self.float_io, self.no_float_io),
            target: match (self.no_target, self.target) {
                (true, _) => TargetChoice::Off,
                (false, Some(TargetArg::Onert)) => TargetChoice::On(Target::Onert),
                (false, None) => TargetChoice::FromConfig,
            },
            fallback: self.fallback.map(|f| match f {
                FallbackArg::Float => Fallback::Float,
            }),
            config: match (&self.config, self.isolated) {
                (_, true) => ConfigSource::Isolated,
                (Some(path), false) => ConfigSource::File(path.clone()),
                (None, false) => ConfigSource::Discover,
            },
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
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
pub enum FallbackArg {
    /// Run the operator in float, converting around it.
    Float,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TargetArg {
    /// onert 0.1.0, the ONE runtime (CPU backend).
    Onert,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PeopleFormat {
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
pub enum LayoutArg {
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
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// The style of text for people on stdout.
    pub fn choice(self) -> ColorChoice {
        match self {
            Color::Auto => ColorChoice::Auto,
            Color::Always => ColorChoice::Always,
            Color::Never => ColorChoice::Never,
        }
    }

    pub fn stdout_style(self) -> Style {
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
pub enum InspectFormat {
    Table,
    Json,
}
