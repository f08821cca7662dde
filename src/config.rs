//! Settings from a file, so that long `--allow-float` lists and a team's
//! `--ignore` live beside the export instead of on every command line.
//!
//! The file is `q-implant.toml`, or the `[tool.q-implant]` table of a
//! `pyproject.toml`, found by walking up from the qparam file's directory;
//! the first directory holding either wins (`q-implant.toml` first). Keys:
//! `select`, `ignore`, `allow-float` (lists of strings), `propagate`,
//! `float-io` (booleans), and `[model."NAME"]` tables with the same keys
//! for one model (matched by file name, or by path relative to the file's
//! directory when NAME has a `/`). A model's table overrides the top level,
//! and the command line overrides both. A leaf: it reads files and knows
//! nothing of models or rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use serde::Deserialize;

pub const FILE_NAME: &str = "q-implant.toml";

/// One level of settings: the file's top level, or a model's table.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub allow_float: Option<Vec<String>>,
    pub propagate: Option<bool>,
    pub float_io: Option<bool>,
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
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    select: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    allow_float: Option<Vec<String>>,
    propagate: Option<bool>,
    float_io: Option<bool>,
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
    q_implant: Option<toml::Value>,
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
}

/// A configuration file that is not valid TOML, or has a key or a value
/// the settings do not have.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}: {message}", path.display())]
#[diagnostic(
    code(config::invalid),
    help("the keys are select, ignore, allow-float (lists of strings), propagate, float-io (true or false) and [model.\"NAME\"] tables of the same keys; see docs/config.md")
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

impl Config {
    /// Reads `path`: a `q-implant.toml`, or a `pyproject.toml` (its
    /// `[tool.q-implant]` table; `None` when it has none).
    pub fn read(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |e: toml::de::Error| {
            let span = e.span().map(SourceSpan::from);
            ConfigError::invalid(path, e.message().to_string(), &text, span)
        };
        let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let settings: FileSettings = if is_pyproject {
            let project: PyProject = toml::from_str(&text).map_err(invalid)?;
            let Some(table) = project.tool.and_then(|t| t.q_implant) else {
                return Ok(None);
            };
            // Spans inside the table are lost once it is a value: the error
            // points at the table's header.
            FileSettings::deserialize(table).map_err(|e| {
                let header = text.find("[tool.q-implant");
                ConfigError::invalid(
                    path,
                    format!("[tool.q-implant]: {}", e.message()),
                    &text,
                    header.map(|at| SourceSpan::from(at..at + 16)),
                )
            })?
        } else {
            toml::from_str(&text).map_err(invalid)?
        };
        Ok(Some(Config {
            path: path.to_path_buf(),
            top: Settings {
                select: settings.select,
                ignore: settings.ignore,
                allow_float: settings.allow_float,
                propagate: settings.propagate,
                float_io: settings.float_io,
            },
            models: settings.model,
        }))
    }

    /// The nearest configuration from `start` (a directory) upwards.
    pub fn discover(start: &Path) -> Result<Option<Config>, ConfigError> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        for dir in start.ancestors() {
            let own = dir.join(FILE_NAME);
            if own.is_file() {
                return Config::read(&own);
            }
            let pyproject = dir.join("pyproject.toml");
            if pyproject.is_file() {
                if let Some(config) = Config::read(&pyproject)? {
                    return Ok(Some(config));
                }
            }
        }
        Ok(None)
    }

    /// The settings for `model`: the top level, overridden by the model's
    /// table if one names it.
    pub fn for_model(&self, model: &Path) -> Settings {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let model_abs = absolute(model);
        let named = self.models.iter().find(|(name, _)| {
            if name.contains('/') {
                normalize(&absolute(&dir.join(name))) == normalize(&model_abs)
            } else {
                model.file_name().is_some_and(|f| f == name.as_str())
            }
        });
        match named {
            Some((_, s)) => self.top.clone().overridden_by(s.clone()),
            None => self.top.clone(),
        }
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
            .unwrap();
        assert!(found.path.ends_with("a/pyproject.toml"));
        assert_eq!(found.top.select, Some(vec!["Q5".to_string()]));
        write(root.path(), "a/q-implant.toml", "propagate = true\n");
        let found = Config::discover(&root.path().join("a/b")).unwrap().unwrap();
        assert!(found.path.ends_with("a/q-implant.toml"));
        let found = Config::discover(root.path()).unwrap().unwrap();
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
        let m = config.for_model(&root.path().join("x/m.circle"));
        assert_eq!(m.allow_float, Some(vec!["b".to_string()]));
        assert_eq!(m.propagate, Some(true));
        let n = config.for_model(&root.path().join("sub/./n.circle"));
        assert_eq!(n.propagate, Some(false));
        assert_eq!(n.allow_float, Some(vec!["a".to_string()]));
        // A name with a slash is a path from the file's directory.
        let other = config.for_model(&root.path().join("other/sub/n.circle"));
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
        assert!(err.to_string().contains("tool.q-implant"), "{err}");
    }
}
