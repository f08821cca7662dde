//! Settings from a file, so that long `--allow-float` lists and a team's
//! `--ignore` live beside the export instead of on every command line.
//!
//! The file is `q-implant.toml`, or the `[tool.q-implant]` table of a
//! `pyproject.toml`, found by walking up from the qparam file's directory;
//! the first directory holding either wins (`q-implant.toml` first). Keys:
//! `select`, `ignore`, `allow-float` (lists of strings), `propagate`,
//! `float-io` (booleans), `target` (a runtime, `onert`), `fallback` (`float`), and `[model."NAME"]` tables with the same keys
//! for one model (matched by file name, or by path relative to the file's
//! directory when NAME has a `/`). A model's table overrides the top level,
//! and the command line overrides both. A model's table may also name the
//! model's qparam sets (`qparam`), which `check` without arguments checks
//! ([`Config::pairs`]). A leaf: it reads files and knows nothing of models
//! or rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use serde::Deserialize;

pub const FILE_NAME: &str = "q-implant.toml";

/// One level of settings: the file's top level, or a model's table.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table of settings for one model (select, ignore, allow-float, propagate, float-io, target, fallback, qparam)"
)]
pub struct Settings {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub allow_float: Option<Vec<String>>,
    pub propagate: Option<bool>,
    pub float_io: Option<bool>,
    pub target: Option<String>,
    pub fallback: Option<String>,
    /// Only in a model's table: the model's qparam.json files, from the
    /// configuration file's directory.
    pub qparam: Option<QParamPaths>,
}

/// `qparam`: one path, or a list of them.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(
    untagged,
    expecting = "the path of a qparam.json, or a list of such paths"
)]
pub enum QParamPaths {
    One(String),
    Many(Vec<String>),
}

impl QParamPaths {
    pub fn paths(&self) -> &[String] {
        match self {
            QParamPaths::One(p) => std::slice::from_ref(p),
            QParamPaths::Many(ps) => ps,
        }
    }
}

impl Settings {
    /// `self` with every setting `over` has replaced.
    fn overridden_by(self, over: Settings) -> Settings {
        Settings {
            select: over.select.or(self.select),
            ignore: over.ignore.or(self.ignore),
            allow_float: over.allow_float.or(self.allow_float),
            propagate: over.propagate.or(self.propagate),
            float_io: over.float_io.or(self.float_io),
            target: over.target.or(self.target),
            fallback: over.fallback.or(self.fallback),
            qparam: over.qparam.or(self.qparam),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table of q-implant settings"
)]
struct FileSettings {
    select: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    allow_float: Option<Vec<String>>,
    propagate: Option<bool>,
    float_io: Option<bool>,
    target: Option<String>,
    fallback: Option<String>,
    #[serde(default)]
    model: BTreeMap<String, Settings>,
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    #[serde(rename = "q-implant")]
    q_implant: Option<FileSettings>,
}

/// A configuration file, read.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    top: Settings,
    models: BTreeMap<String, Settings>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}", path.display())]
    #[diagnostic(code(config::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidConfig>),
    #[error("{}: the tables [model.\"{first}\"] and [model.\"{second}\"] both name {}", path.display(), model.display())]
    #[diagnostic(
        code(config::ambiguous),
        help("keep one table per model: a file name, or a path from the file's directory")
    )]
    Ambiguous {
        path: PathBuf,
        model: PathBuf,
        first: String,
        second: String,
    },
}

/// A configuration file that is not valid TOML, or has a key or a value
/// the settings do not have.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}: {message}", path.display())]
#[diagnostic(
    code(config::invalid),
    help("the keys are select, ignore, allow-float (lists of strings), propagate, float-io (true or false), target (\"onert\"), fallback (\"float\") and [model.\"NAME\"] tables of the same keys and qparam (the model's qparam.json, or a list of them); see docs/config.md")
)]
pub struct InvalidConfig {
    pub path: PathBuf,
    pub message: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

impl ConfigError {
    fn invalid(path: &Path, message: String, text: &str, span: Option<SourceSpan>) -> ConfigError {
        ConfigError::Invalid(Box::new(InvalidConfig {
            path: path.to_path_buf(),
            message,
            source_code: NamedSource::new(path.display().to_string(), text.to_string()),
            span,
        }))
    }
}

/// The configuration found for a run, and the files passed over on the way.
#[derive(Debug, Default)]
pub struct Discovery {
    pub config: Option<Config>,
    /// `pyproject.toml` files that could not be read or parsed and do not
    /// mention q-implant: not ours, so they are skipped, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Larger than any configuration: a file this big is a mistake.
const MAX_LEN: u64 = 16 << 20;

fn read_text(path: &Path) -> Result<String, ConfigError> {
    let read = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let input = crate::files::open_regular(path).map_err(read)?;
    if input.len > MAX_LEN {
        return Err(read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is {} bytes, larger than a configuration can be",
                input.len
            ),
        )));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(&input.file, MAX_LEN), &mut text)
        .map_err(read)?;
    Ok(text)
}

impl Config {
    /// Reads `path`: a `q-implant.toml`, or a `pyproject.toml` (its
    /// `[tool.q-implant]` table; `None` when it has none).
    pub fn read(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = read_text(path)?;
        Config::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Option<Config>, ConfigError> {
        let invalid = |e: toml::de::Error| {
            let span = e.span().map(SourceSpan::from);
            ConfigError::invalid(path, e.message().to_string(), text, span)
        };
        let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let settings: FileSettings = if is_pyproject {
            let project: PyProject = toml::from_str(text).map_err(invalid)?;
            match project.tool.and_then(|t| t.q_implant) {
                Some(settings) => settings,
                None => return Ok(None),
            }
        } else {
            toml::from_str(text).map_err(invalid)?
        };
        Ok(Some(Config {
            path: path.to_path_buf(),
            top: Settings {
                select: settings.select,
                ignore: settings.ignore,
                allow_float: settings.allow_float,
                propagate: settings.propagate,
                float_io: settings.float_io,
                target: settings.target,
                fallback: settings.fallback,
                qparam: None,
            },
            models: settings.model,
        }))
    }

    /// The nearest configuration from `start` (a directory) upwards.
    ///
    /// A `q-implant.toml` that cannot be read is an error (it is ours by
    /// its name); so is a `pyproject.toml` that mentions q-implant. Any
    /// other `pyproject.toml` that cannot be read or parsed is someone
    /// else's problem: it is skipped, and said so.
    pub fn discover(start: &Path) -> Result<Discovery, ConfigError> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        let mut found = Discovery::default();
        for dir in start.ancestors() {
            let own = dir.join(FILE_NAME);
            // A link to nothing, a directory of that name: ours, and wrong.
            if own.symlink_metadata().is_ok() {
                found.config = Config::read(&own)?;
                return Ok(found);
            }
            let pyproject = dir.join("pyproject.toml");
            if pyproject.symlink_metadata().is_err() {
                continue;
            }
            let text = match read_text(&pyproject) {
                Ok(text) => text,
                Err(e) => {
                    found.skipped.push((pyproject, e.to_string()));
                    continue;
                }
            };
            match Config::parse(&pyproject, &text) {
                Ok(Some(config)) => {
                    found.config = Some(config);
                    return Ok(found);
                }
                Ok(None) => {}
                Err(e) if text.contains("q-implant") => return Err(e),
                Err(e) => {
                    let why = match &e {
                        ConfigError::Invalid(i) => i.message.clone(),
                        other => other.to_string(),
                    };
                    let why = why.replace('\n', " ");
                    found
                        .skipped
                        .push((pyproject, format!("not valid TOML: {why}")));
                }
            }
        }
        Ok(found)
    }

    /// The settings for `model`: the top level, overridden by the model's
    /// table if one names it.
    pub fn for_model(&self, model: &Path) -> Result<Settings, ConfigError> {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let model_abs = absolute(model);
        let mut named = self.models.iter().filter(|(name, _)| {
            if name.contains('/') {
                normalize(&absolute(&dir.join(name))) == normalize(&model_abs)
            } else {
                model.file_name().is_some_and(|f| f == name.as_str())
            }
        });
        let first = named.next();
        if let (Some((a, _)), Some((b, _))) = (first, named.next()) {
            return Err(ConfigError::Ambiguous {
                path: self.path.clone(),
                model: model.to_path_buf(),
                first: a.clone(),
                second: b.clone(),
            });
        }
        Ok(match first {
            Some((_, s)) => self.top.clone().overridden_by(s.clone()),
            None => self.top.clone(),
        })
    }

    /// Every model and qparam set the model tables pair (`qparam`), as
    /// paths from the configuration file's directory, in the file's order
    /// of models: what `check` without arguments checks.
    pub fn pairs(&self) -> Vec<(PathBuf, PathBuf)> {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        self.models
            .iter()
            .flat_map(|(model, s)| {
                s.qparam
                    .iter()
                    .flat_map(|q| q.paths())
                    .map(move |q| (dir.join(model), dir.join(q)))
            })
            .collect()
    }

    /// Every level of settings with its name (`top level`, or the model's
    /// table), so that patterns can be checked even in tables of other
    /// models.
    pub fn levels(&self) -> impl Iterator<Item = (String, &Settings)> {
        std::iter::once(("the top level".to_string(), &self.top)).chain(
            self.models
                .iter()
                .map(|(name, s)| (format!("[model.\"{name}\"]"), s)),
        )
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_nearest_file_wins_and_q_implant_toml_before_pyproject() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), FILE_NAME, "ignore = [\"Q7\"]\n");
        write(
            root.path(),
            "a/pyproject.toml",
            "[project]\nname = \"x\"\n[tool.q-implant]\nselect = [\"Q5\"]\n",
        );
        write(
            root.path(),
            "a/b/pyproject.toml",
            "[project]\nname = \"y\"\n",
        );
        std::fs::create_dir_all(root.path().join("a/b/c")).unwrap();
        // b's pyproject has no table, so a's is next.
        let found = Config::discover(&root.path().join("a/b/c"))
            .unwrap()
            .config
            .unwrap();
        assert!(found.path.ends_with("a/pyproject.toml"));
        assert_eq!(found.top.select, Some(vec!["Q5".to_string()]));
        write(root.path(), "a/q-implant.toml", "propagate = true\n");
        let found = Config::discover(&root.path().join("a/b"))
            .unwrap()
            .config
            .unwrap();
        assert!(found.path.ends_with("a/q-implant.toml"));
        let found = Config::discover(root.path()).unwrap().config.unwrap();
        assert_eq!(found.top.ignore, Some(vec!["Q7".to_string()]));
    }

    #[test]
    fn a_model_table_overrides_the_top_level() {
        let root = tempfile::tempdir().unwrap();
        let path = write(
            root.path(),
            FILE_NAME,
            "allow-float = [\"a\"]\npropagate = true\n[model.\"m.circle\"]\nallow-float = [\"b\"]\n[model.\"sub/n.circle\"]\npropagate = false\n",
        );
        let config = Config::read(&path).unwrap().unwrap();
        let m = config.for_model(&root.path().join("x/m.circle")).unwrap();
        assert_eq!(m.allow_float, Some(vec!["b".to_string()]));
        assert_eq!(m.propagate, Some(true));
        let n = config
            .for_model(&root.path().join("sub/./n.circle"))
            .unwrap();
        assert_eq!(n.propagate, Some(false));
        assert_eq!(n.allow_float, Some(vec!["a".to_string()]));
        // A name with a slash is a path from the file's directory.
        let other = config
            .for_model(&root.path().join("other/sub/n.circle"))
            .unwrap();
        assert_eq!(other.propagate, Some(true));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_with_their_place() {
        let root = tempfile::tempdir().unwrap();
        let path = write(root.path(), FILE_NAME, "alow-float = [\"a\"]\n");
        let err = Config::read(&path).unwrap_err();
        let ConfigError::Invalid(invalid) = &err else {
            panic!("{err:?}")
        };
        assert!(
            invalid.message.contains("alow-float"),
            "{}",
            invalid.message
        );
        assert_eq!(invalid.span.unwrap().offset(), 0);
        let path = write(root.path(), FILE_NAME, "propagate = \"yes\"\n");
        assert!(Config::read(&path).is_err());
        let path = write(
            root.path(),
            "pyproject.toml",
            "[tool.q-implant]\nselect = \"Q5\"\n",
        );
        let err = Config::read(&path).unwrap_err();
        let ConfigError::Invalid(invalid) = &err else {
            panic!("{err:?}")
        };
        // The key itself, inside the table.
        assert_eq!(
            invalid.span.unwrap().offset(),
            "[tool.q-implant]\n".len() + 9
        );
    }

    #[test]
    fn a_broken_pyproject_that_is_not_ours_is_skipped_and_said() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), FILE_NAME, "ignore = [\"Q7\"]\n");
        write(root.path(), "a/pyproject.toml", "[project\n");
        let found = Config::discover(&root.path().join("a")).unwrap();
        assert!(found.config.unwrap().path.ends_with(FILE_NAME));
        assert_eq!(found.skipped.len(), 1);
        assert!(found.skipped[0].1.contains("not valid TOML"));
        // One that mentions q-implant is ours: its error stands.
        write(root.path(), "a/pyproject.toml", "[tool.q-implant\n");
        assert!(Config::discover(&root.path().join("a")).is_err());
        // A directory named q-implant.toml is ours by its name.
        std::fs::create_dir_all(root.path().join("b/q-implant.toml")).unwrap();
        assert!(Config::discover(&root.path().join("b")).is_err());
    }

    #[test]
    fn model_tables_pair_models_with_their_sets() {
        let root = tempfile::tempdir().unwrap();
        let path = write(
            root.path(),
            FILE_NAME,
            "[model.\"a.circle\"]\nqparam = \"export/qparam.json\"\n[model.\"m/b.circle\"]\nqparam = [\"b1.json\", \"b2.json\"]\npropagate = true\n[model.\"c.circle\"]\nselect = [\"Q5\"]\n",
        );
        let config = Config::read(&path).unwrap().unwrap();
        let r = root.path();
        assert_eq!(
            config.pairs(),
            vec![
                (r.join("a.circle"), r.join("export/qparam.json")),
                (r.join("m/b.circle"), r.join("b1.json")),
                (r.join("m/b.circle"), r.join("b2.json")),
            ]
        );
        // Only a model's table pairs; a number is no path.
        let path = write(root.path(), FILE_NAME, "qparam = \"q.json\"\n");
        assert!(Config::read(&path).is_err());
        let path = write(root.path(), FILE_NAME, "[model.\"a.circle\"]\nqparam = 3\n");
        assert!(Config::read(&path).is_err());
    }

    #[test]
    fn two_tables_for_one_model_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let path = write(
            root.path(),
            FILE_NAME,
            "[model.\"m.circle\"]\npropagate = true\n[model.\"x/m.circle\"]\npropagate = false\n",
        );
        let config = Config::read(&path).unwrap().unwrap();
        assert!(config.for_model(&root.path().join("x/m.circle")).is_err());
        assert!(config.for_model(&root.path().join("y/m.circle")).is_ok());
    }
}
