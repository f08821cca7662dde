//! Whether to colour, and the few colours reports use.
//!
//! `--color always|never` decides alone. Under `auto`: `NO_COLOR` (any
//! non-empty value) turns colour off; otherwise `FORCE_COLOR` or
//! `CLICOLOR_FORCE` (non-empty, not `0` or `false`) turns it on even in a
//! pipe;
//! otherwise `TERM=dumb` turns it off; otherwise colour is on exactly when
//! the stream is a terminal.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Resolves the choice for a stream, reading the environment through
    /// `var` (so that tests need not change the process's).
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>, is_terminal: bool) -> bool {
        let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
        let forced = |name: &str| {
            var(name).is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        };
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR") => false,
            ColorChoice::Auto if forced("FORCE_COLOR") || forced("CLICOLOR_FORCE") => true,
            ColorChoice::Auto if var("TERM").as_deref() == Some("dumb") => false,
            ColorChoice::Auto => is_terminal,
        }
    }
}

/// ANSI colours, or none.
#[derive(Clone, Copy, Debug)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn error(self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    pub fn warning(self, text: &str) -> String {
        self.wrap("1;33", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    pub fn help(self, text: &str) -> String {
        self.wrap("36", text)
    }

    pub fn severity(self, severity: crate::diagnostic::Severity, text: &str) -> String {
        match severity {
            crate::diagnostic::Severity::Error => self.error(text),
            crate::diagnostic::Severity::Warning => self.warning(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn auto_follows_the_environment_then_the_terminal() {
        let auto = ColorChoice::Auto;
        assert!(auto.resolve(env(&[]), true));
        assert!(!auto.resolve(env(&[]), false));
        assert!(!auto.resolve(env(&[("NO_COLOR", "1")]), true));
        assert!(auto.resolve(env(&[("NO_COLOR", "")]), true));
        assert!(auto.resolve(env(&[("FORCE_COLOR", "1")]), false));
        assert!(!auto.resolve(env(&[("FORCE_COLOR", "0")]), false));
        assert!(!auto.resolve(env(&[("FORCE_COLOR", "false")]), false));
        assert!(auto.resolve(env(&[("CLICOLOR_FORCE", "1")]), false));
        assert!(!auto.resolve(env(&[("TERM", "dumb")]), true));
        assert!(auto.resolve(env(&[("TERM", "dumb"), ("FORCE_COLOR", "1")]), true));
        assert!(!auto.resolve(env(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]), false));
    }

    #[test]
    fn explicit_choices_ignore_the_environment() {
        assert!(ColorChoice::Always.resolve(env(&[("NO_COLOR", "1")]), false));
        assert!(!ColorChoice::Never.resolve(env(&[("FORCE_COLOR", "1")]), true));
    }
}
