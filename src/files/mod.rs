//! The boundary with the file system: reading untrusted inputs safely,
//! copying ranges of files, writing outputs atomically, refusing to write
//! over an input, and where array data is (a file range, or memory).

pub mod copy;
pub mod guard;
pub mod input;
pub mod output;
pub mod source;

pub use guard::{refuse_inputs, same_file, OutputIsInput};
pub use input::{open_regular, read_exact_at, InputFile, PathRange};
pub use output::AtomicFile;
pub use source::{DataSource, SharedBytes};
