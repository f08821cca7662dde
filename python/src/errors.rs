//! The module's exceptions, and q-implant's errors as they become them: the
//! message is the error as the command line prints it, without colour (the
//! code, the message, each cause, the help), and the exception carries the
//! code and the help as attributes too.

use std::fmt;

use miette::{Diagnostic, ReportHandler};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use q_implant::commands::{ApplyError, CheckError, SettingsError};
use q_implant::fix::FixError;
use q_implant::model::ModelError as UnreadableModel;
use q_implant::qparam::QParamReadError;

pyo3::create_exception!(
    q_implant,
    Error,
    PyException,
    "Base of q-implant's errors: the command could not run. `code` is the error's code (`model::io`), `help` what to do, or None."
);
pyo3::create_exception!(
    q_implant,
    ModelError,
    Error,
    "The model cannot be read or is not a circle model."
);
pyo3::create_exception!(
    q_implant,
    QParamError,
    Error,
    "The qparam set cannot be read at all (a missing qparam.json, a mapping that is not one)."
);
pyo3::create_exception!(
    q_implant,
    CheckFailed,
    Error,
    "apply refused the set: it has errors (or denied warnings). `report` holds the findings; nothing was written."
);

/// Which exception an error becomes.
#[derive(Clone, Copy)]
pub enum Kind {
    Base,
    Model,
    QParam,
}

/// An error of the library, ready to be raised.
pub struct Failure {
    kind: Kind,
    message: String,
    code: Option<String>,
    help: Option<String>,
}

impl Failure {
    pub fn new(kind: Kind, error: &dyn Diagnostic) -> Failure {
        Failure {
            kind,
            message: render(error),
            code: error.code().map(|c| c.to_string()),
            help: error.help().map(|h| h.to_string()),
        }
    }

    /// A failure of the binding itself, never of the input: a panic.
    pub fn internal(what: &str) -> Failure {
        Failure {
            kind: Kind::Base,
            message: format!(
                "q-implant failed inside ({what}); this is a bug, please report it with the inputs that cause it"
            ),
            code: Some("internal".into()),
            help: None,
        }
    }

    pub fn into_py(self, py: Python<'_>) -> PyErr {
        let err = match self.kind {
            Kind::Base => Error::new_err(self.message),
            Kind::Model => ModelError::new_err(self.message),
            Kind::QParam => QParamError::new_err(self.message),
        };
        let value = err.value(py);
        // Setting attributes on a fresh exception cannot fail.
        let _ = value.setattr("code", self.code);
        let _ = value.setattr("help", self.help);
        err
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        Python::attach(|py| f.into_py(py))
    }
}

/// The error as the command line prints it on a pipe: miette's graphical
/// report with Unicode and without colour, hyperlinks or wrapping.
pub fn render(error: &dyn Diagnostic) -> String {
    struct Shown<'a>(&'a dyn Diagnostic, miette::MietteHandler);
    impl fmt::Display for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.1.debug(self.0, f)
        }
    }
    let handler = miette::MietteHandlerOpts::new()
        .width(usize::MAX / 2)
        .color(false)
        .unicode(true)
        .terminal_links(false)
        .build();
    Shown(error, handler).to_string().trim_end().to_string()
}

impl From<CheckError> for Failure {
    fn from(e: CheckError) -> Failure {
        let kind = match &e {
            CheckError::Model(_) => Kind::Model,
            CheckError::QParam(_) => Kind::QParam,
            CheckError::Settings(_) | CheckError::Fix(_) | CheckError::Samples(_) => Kind::Base,
        };
        Failure::new(kind, &e)
    }
}

impl From<ApplyError> for Failure {
    fn from(e: ApplyError) -> Failure {
        let kind = match &e {
            ApplyError::Model(_) => Kind::Model,
            ApplyError::QParam(_) => Kind::QParam,
            _ => Kind::Base,
        };
        Failure::new(kind, &e)
    }
}

impl From<SettingsError> for Failure {
    fn from(e: SettingsError) -> Failure {
        Failure::new(Kind::Base, &e)
    }
}

impl From<UnreadableModel> for Failure {
    fn from(e: UnreadableModel) -> Failure {
        Failure::new(Kind::Model, &e)
    }
}

impl From<QParamReadError> for Failure {
    fn from(e: QParamReadError) -> Failure {
        Failure::new(Kind::QParam, &e)
    }
}

impl From<FixError> for Failure {
    fn from(e: FixError) -> Failure {
        Failure::new(Kind::Base, &e)
    }
}

/// A set given in memory that cannot be read as one (a key that is not a
/// string, an array whose data cannot be had).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{what}")]
#[diagnostic(code(qparam::mapping), help("{help}"))]
pub struct BadMapping {
    pub what: String,
    pub help: String,
}

impl From<BadMapping> for Failure {
    fn from(e: BadMapping) -> Failure {
        Failure::new(Kind::QParam, &e)
    }
}
