//! The boundary with the file system: reading untrusted inputs safely,
//! copying ranges of files, writing outputs atomically, and refusing to
//! write over an input.

pub mod copy;
pub mod guard;
pub mod input;
pub mod output;

pub use guard::{refuse_inputs, same_file, OutputIsInput};
pub use input::{open_regular, read_exact_at, InputFile, PathRange};
pub use output::AtomicFile;
