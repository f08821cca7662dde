//! `q-implant check` without MODEL and QPARAM: every model and qparam set
//! the configuration pairs (`qparam` in a model's table, docs/config.md),
//! each checked as if given on the command line with the same options. For
//! hooks that run in a repository without arguments (pre-commit).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use super::args::{Cli, Command};
use super::{run, ui};
use crate::commands::ConfigSource;
use crate::config::{Config, ConfigError};

/// Stand-ins for the two paths while the options are read: no path holds
/// a NUL, so no real argument is mistaken for them.
const MODEL: &str = "\0model";
const QPARAM: &str = "\0qparam";

/// What became of a command line clap found incomplete.
pub enum Pairs {
    /// Not a `check` without its two paths.
    NotAsked,
    /// One, but the configuration pairs nothing.
    NoneConfigured,
    /// Every pair was checked; the worst exit code.
    Checked(ExitCode),
}

/// Checks what the configuration pairs, when `args` is a `check` without
/// its two paths.
pub fn check_all(args: &[OsString]) -> Pairs {
    let probe = Cli::try_parse_from(with_paths(args, Path::new(MODEL), Path::new(QPARAM)));
    let Ok(probe) = probe else {
        return Pairs::NotAsked;
    };
    let Command::Check(check) = &probe.command else {
        return Pairs::NotAsked;
    };
    if check.model != Path::new(MODEL) || check.qparam != Path::new(QPARAM) {
        return Pairs::NotAsked;
    }
    ui::error_style(probe.color);
    let pairs = match pairs(&check.analysis.overrides().config) {
        Ok(pairs) if pairs.is_empty() => return Pairs::NoneConfigured,
        Ok(pairs) => pairs,
        Err(e) => {
            ui::say(format_args!("{:?}", miette::Report::new(e)));
            return Pairs::Checked(ExitCode::from(2));
        }
    };
    let mut worst = 0u8;
    for (model, qparam) in pairs {
        let code = match Cli::try_parse_from(with_paths(args, &model, &qparam)) {
            Ok(cli) => match run::run(cli) {
                Ok(code) => code,
                Err(report) => {
                    ui::say(format_args!("{report:?}"));
                    ExitCode::from(2)
                }
            },
            Err(e) => {
                let _ = e.print();
                ExitCode::from(2)
            }
        };
        // Exit codes are 0, 1 or 2; the worst one is the run's.
        let code = (0..=2).find(|&c| ExitCode::from(c) == code).unwrap_or(2);
        worst = worst.max(code);
    }
    Pairs::Checked(ExitCode::from(worst))
}

/// What to say after clap's complaint that `check` lacks its paths.
pub const NOTE: &str = "note: without MODEL and QPARAM, `check` checks the models and qparam sets the configuration pairs: `qparam = \"export/qparam.json\"` in a [model.\"m.circle\"] table (docs/config.md); none was found";

fn with_paths(args: &[OsString], model: &Path, qparam: &Path) -> Vec<OsString> {
    let mut out = args.to_vec();
    out.extend(["--".into(), model.into(), qparam.into()]);
    out
}

/// The pairs of the configuration the options point at, as paths from the
/// working directory where they lie below it.
fn pairs(source: &ConfigSource) -> Result<Vec<(PathBuf, PathBuf)>, ConfigError> {
    let config = match source {
        ConfigSource::Isolated => None,
        ConfigSource::File(path) => Config::read(path)?,
        ConfigSource::Discover => Config::discover(Path::new("."))?.config,
    };
    let cwd = std::env::current_dir().ok();
    let shown = |p: PathBuf| match cwd.as_deref().and_then(|c| p.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => p,
    };
    Ok(config
        .map(|c| c.pairs())
        .unwrap_or_default()
        .into_iter()
        .map(|(m, q)| (shown(m), shown(q)))
        .collect())
}
