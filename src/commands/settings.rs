//! The settings of a `check` or `apply` run: what the caller gives (the
//! command line, or a Python call's keyword arguments) over the
//! configuration file over the defaults. Errors in a setting that came from
//! the file name the file and the setting.

use std::path::{Path, PathBuf};

use crate::analysis::{CheckOptions, Fallback, Target, UnknownAllowFloat};
use crate::config::{Config, ConfigError, Discovery};
use crate::graph::Graph;
use crate::qparam::LoadOptions;
use crate::report::{Filter, FilterError};

/// Where the configuration comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConfigSource {
    /// Found by walking up from the qparam file's directory.
    #[default]
    Discover,
    /// This file (`--config`).
    File(PathBuf),
    /// None at all (`--isolated`).
    Isolated,
}

/// The runtime the caller asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetChoice {
    /// Whatever the configuration says.
    #[default]
    FromConfig,
    /// No runtime, whatever the configuration says (`--no-target`).
    Off,
    On(Target),
}

/// What the caller sets; anything left unset comes from the configuration
/// file, then the defaults. An empty list counts as unset.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub allow_float: Vec<String>,
    pub allow_outside_paths: bool,
    pub propagate: Option<bool>,
    pub float_io: Option<bool>,
    pub target: TargetChoice,
    /// `--fallback`; unset: the configuration's.
    pub fallback: Option<Fallback>,
    pub config: ConfigSource,
}

/// What a run uses, resolved.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub options: CheckOptions,
    /// What reports show; never what may be written.
    pub filter: Filter,
    /// The configuration file read, if any.
    pub config: Option<PathBuf>,
    /// Files passed over on the way to it, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Only target rules are selected, and there is no target: nothing can
    /// be found.
    pub target_rules_without_target: bool,
    /// The file the `allow-float` names came from, when they did.
    allow_float_from: Option<PathBuf>,
}

/// A setting the run cannot use.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SettingsError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    #[error("{} has no [tool.q-implant] table", .0.display())]
    #[diagnostic(
        code(config::empty),
        help("add a [tool.q-implant] table, or give a q-implant.toml")
    )]
    NoTable(PathBuf),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Setting(#[from] SettingError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    InFile(Box<InFile>),
}

impl From<InFile> for SettingsError {
    fn from(e: InFile) -> SettingsError {
        SettingsError::InFile(Box::new(e))
    }
}

/// What can be wrong with one setting, wherever it was given.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SettingError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Filter(#[from] FilterError),
    #[error("there is no target `{0}`")]
    #[diagnostic(code(config::target), help("the targets are: onert"))]
    UnknownTarget(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    AllowFloat(#[from] UnknownAllowFloat),
    #[error("there is no fallback `{0}`")]
    #[diagnostic(code(config::fallback), help("the fallbacks are: float"))]
    UnknownFallback(String),
    #[error("a fallback says what to do with operators a target has no kernel for, and there is no target")]
    #[diagnostic(
        code(config::fallback_target),
        help("give --target onert (or `target = \"onert\"`) too, or leave the fallback out")
    )]
    FallbackWithoutTarget,
}

/// A setting of a configuration file that is wrong: the file and the
/// setting, then what is wrong with it (its code and help are the inner
/// error's, so the advice stays the same wherever the setting was given).
#[derive(Debug, thiserror::Error)]
#[error("in {}, the setting `{setting}`{}", path.display(), level.as_ref().map(|l| format!(" of {l}")).unwrap_or_default())]
pub struct InFile {
    pub path: PathBuf,
    pub setting: &'static str,
    /// The level of the file (`the top level`, `[model."m.circle"]`) when
    /// every level is checked.
    pub level: Option<String>,
    #[source]
    pub error: SettingError,
}

impl miette::Diagnostic for InFile {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.error.code()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.error.help()
    }
}

impl Overrides {
    /// The settings for checking `qparam` against `model`; a configuration
    /// is looked for from the qparam file's directory upwards.
    pub fn resolve(&self, model: &Path, qparam: &Path) -> Result<Settings, SettingsError> {
        let dir = qparam.parent().filter(|d| !d.as_os_str().is_empty());
        self.resolve_from(model, dir.unwrap_or(Path::new(".")))
    }

    /// The settings for checking a set against `model`, a configuration
    /// looked for from `dir` upwards (for a set held in memory, which has
    /// no directory of its own: the caller's working directory).
    pub fn resolve_from(&self, model: &Path, dir: &Path) -> Result<Settings, SettingsError> {
        let Discovery { config, skipped } = self.read_config(dir)?;
        let file = match &config {
            Some(c) => c.for_model(model)?,
            None => Default::default(),
        };
        if let Some(c) = &config {
            check_patterns(c)?;
        }
        let blame = |setting: &'static str, from_file: bool| {
            let path = config.as_ref().map(|c| c.path.clone());
            move |error: SettingError| -> SettingsError {
                match path.filter(|_| from_file) {
                    Some(path) => InFile {
                        path,
                        setting,
                        level: None,
                        error,
                    }
                    .into(),
                    None => error.into(),
                }
            }
        };
        let (select, select_from_file) = pick(&self.select, &file.select);
        let (ignore, ignore_from_file) = pick(&self.ignore, &file.ignore);
        let filter = Filter::new(&select, &ignore).map_err(|e| {
            let from_file = match e.flag() {
                "select" => select_from_file,
                _ => ignore_from_file,
            };
            blame(e.flag(), from_file)(e.into())
        })?;
        let (allow_float, allow_float_from_file) = pick(&self.allow_float, &file.allow_float);
        let target = match (self.target, &file.target) {
            (TargetChoice::Off, _) => None,
            (TargetChoice::On(t), _) => Some(t),
            (TargetChoice::FromConfig, Some(name)) => {
                Some(Target::parse(name).ok_or_else(|| {
                    blame("target", true)(SettingError::UnknownTarget(name.clone()))
                })?)
            }
            (TargetChoice::FromConfig, None) => None,
        };
        let fallback = match (self.fallback, &file.fallback) {
            (Some(f), _) => Some(f),
            (None, Some(name)) => Some(Fallback::parse(name).ok_or_else(|| {
                blame("fallback", true)(SettingError::UnknownFallback(name.clone()))
            })?),
            (None, None) => None,
        };
        // `--no-target` turns a file's fallback off with its target.
        if fallback.is_some() && target.is_none() && self.target != TargetChoice::Off {
            return Err(blame("fallback", self.fallback.is_none())(
                SettingError::FallbackWithoutTarget,
            ));
        }
        let target_rule =
            |p: &String| p.to_ascii_uppercase().starts_with("Q8") || p.starts_with("onert-");
        Ok(Settings {
            target_rules_without_target: target.is_none()
                && !select.is_empty()
                && select.iter().all(target_rule),
            options: CheckOptions {
                load: LoadOptions {
                    allow_outside_paths: self.allow_outside_paths,
                    ..Default::default()
                },
                allow_float,
                propagate: self.propagate.or(file.propagate).unwrap_or(false),
                float_io: self.float_io.or(file.float_io).unwrap_or(false),
                target,
                fallback: fallback.filter(|_| target.is_some()),
                // `check` says what it may run; nothing else runs the model.
                model_runs: crate::calibrate::ModelRuns::none(),
            },
            filter,
            allow_float_from: config
                .as_ref()
                .filter(|_| allow_float_from_file)
                .map(|c| c.path.clone()),
            config: config.map(|c| c.path),
            skipped,
        })
    }

    fn read_config(&self, dir: &Path) -> Result<Discovery, SettingsError> {
        match &self.config {
            ConfigSource::Isolated => Ok(Discovery::default()),
            ConfigSource::File(path) => match Config::read(path)? {
                Some(config) => Ok(Discovery {
                    config: Some(config),
                    skipped: Vec::new(),
                }),
                None => Err(SettingsError::NoTable(path.clone())),
            },
            ConfigSource::Discover => Ok(Config::discover(dir)?),
        }
    }
}

impl Settings {
    /// Refuses an `allow-float` name the model does not have, blaming the
    /// configuration file when the names came from it.
    pub fn check_allow_float(&self, graph: &Graph<'_>) -> Result<(), SettingsError> {
        self.options.check_allow_float(graph).map_err(|e| {
            let error = SettingError::AllowFloat(e);
            match &self.allow_float_from {
                Some(path) => InFile {
                    path: path.clone(),
                    setting: "allow-float",
                    level: None,
                    error,
                }
                .into(),
                None => error.into(),
            }
        })
    }
}

/// The caller's list when it gave one, else the file's; and whether the
/// file's was taken.
fn pick(given: &[String], file: &Option<Vec<String>>) -> (Vec<String>, bool) {
    match file {
        Some(f) if given.is_empty() => (f.clone(), true),
        _ => (given.to_vec(), false),
    }
}

/// Patterns are checked in every table, not only this model's: a typo in
/// another model's table would otherwise wait for that model.
fn check_patterns(config: &Config) -> Result<(), SettingsError> {
    for (level, s) in config.levels() {
        let (select, ignore) = (
            s.select.clone().unwrap_or_default(),
            s.ignore.clone().unwrap_or_default(),
        );
        Filter::new(&select, &ignore).map_err(|e| InFile {
            path: config.path.clone(),
            setting: e.flag(),
            level: Some(level),
            error: e.into(),
        })?;
    }
    Ok(())
}
