//! The commands, as library functions. Each takes typed settings (paths,
//! or sets in memory) and returns a typed result: its report and what its
//! exit status would be. None prints or exits; the command line
//! (`src/main.rs`) and the Python module are thin layers over them.

pub mod apply;
pub mod check;
pub mod diff;
pub mod extract;
pub mod inspect;
pub mod rewrite;
pub mod rules;
pub mod set;
pub mod settings;
pub mod verify;

pub use apply::{apply, apply_memory, ApplyError, ApplyRequest, Outcome};
pub use check::{
    check, check_memory, fix_memory, CheckError, CheckOutcome, CheckRequest, FixOutcome,
    FixPreview, NewFile,
};
pub use diff::{compare_sides, diff, DiffError, DiffOutcome, DiffRequest, SideInfo};
pub use extract::{
    extract, extract_memory, ExtractCommandError, ExtractOutcome, ExtractRequest,
    ExtractedInMemory, KeysFrom,
};
pub use inspect::inspect;
pub use rewrite::{rewrite, RewriteError};
pub use rules::{rules, RulesQuery, UnknownRule};
pub use set::SetSource;
pub use settings::{ConfigSource, Overrides, Settings, SettingsError, TargetChoice};
pub use verify::{verify, Subject, VerifyError, VerifyOutcome, VerifyRequest};

/// What a command tells while it works, for a progress line or a log:
/// the phase it enters. The default hears nothing.
pub trait Observer {
    fn phase(&self, _what: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}

/// How a command ended, as its exit code says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0: done, nothing to report as failing.
    Success,
    /// 1: findings fail the check, a write was refused, or (verify) a
    /// threshold was not met.
    Findings,
    /// 2: the command could not run.
    Trouble,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Findings => 1,
            Status::Trouble => 2,
        }
    }
}
