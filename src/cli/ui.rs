//! What goes to the terminal: the library's results on stdout, status
//! lines (unless `--quiet`), phases with their times (with `--verbose`)
//! and the progress line on stderr.

use std::cell::RefCell;
use std::time::Instant;

use crate::commands::{Observer, Settings};

use super::args::Color;
use super::progress::Progress;

/// Prints to stdout; a closed pipe (`| head`) ends output quietly.
pub fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Prints to stderr; a closed pipe (`2>&1 | head`) ends output quietly
/// (`eprint!` would panic on it).
pub fn emit_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Prints a line to stderr, as [`emit_stderr`].
pub fn say(line: impl std::fmt::Display) {
    emit_stderr(&format!("{line}\n"));
}

pub struct Ui {
    pub quiet: bool,
    verbose: bool,
    started: Instant,
    progress: RefCell<Option<Progress>>,
}

impl Ui {
    pub fn new(quiet: bool, verbose: bool) -> Ui {
        Ui {
            quiet,
            verbose,
            started: Instant::now(),
            progress: RefCell::new(None),
        }
    }

    pub fn status(&self, line: &str) {
        if !self.quiet {
            say(line);
        }
    }

    pub fn verbose(&self, line: &str) {
        if self.verbose {
            say(format_args!(
                "[{:>6.2} s] {line}",
                self.started.elapsed().as_secs_f64()
            ));
        }
    }

    /// Erases the progress line, before anything else is printed.
    pub fn finish(&self) {
        if let Some(p) = self.progress.borrow_mut().take() {
            p.finish();
        }
    }

    /// Says what the settings came from, and warns about settings that
    /// cannot do what they seem to.
    pub fn config(&self, settings: &Settings) {
        if settings.target_rules_without_target {
            self.status("warning: --select names only target rules (Q8xx), which run only with --target onert (or `target` in the configuration)");
        }
        // Said even with --quiet: it changes which settings apply.
        for (path, why) in &settings.skipped {
            say(format_args!(
                "warning: skipped {} ({why}); --isolated reads no configuration",
                path.display()
            ));
        }
        match &settings.config {
            Some(path) => self.verbose(&format!("configuration: {}", path.display())),
            None => self.verbose("configuration: none"),
        }
    }
}

impl Observer for Ui {
    fn phase(&self, what: &str) {
        self.verbose(what);
        let mut progress = self.progress.borrow_mut();
        match progress.as_ref() {
            Some(p) => p.phase(what),
            None => *progress = Some(Progress::start(what, !self.quiet && !self.verbose)),
        }
    }
}

/// Errors of the run itself (exit 2) as miette draws them on stderr: as
/// wide as the terminal, unwrapped in a pipe, coloured as `--color` says.
pub fn error_style(choice: Color) {
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
