//! The boundary with the file system: reading untrusted inputs safely,
//! copying ranges of files, writing outputs (files and directories)
//! atomically, refusing to write over an input, and where array data is (a
//! file range, or memory).

pub mod copy;
pub mod dir;
pub mod guard;
pub mod input;
pub mod output;
pub mod source;

pub use dir::{dir_state, AtomicDir, DirState};
pub use guard::{refuse_inputs, refuse_inputs_within, same_file, OutputHoldsInput, OutputIsInput};
pub use input::{open_regular, read_exact_at, read_exact_in, InputFile, PathRange};
pub use output::AtomicFile;
pub use source::{DataSource, SharedBytes};
