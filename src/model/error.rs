use std::path::PathBuf;

/// Everything that can go wrong reading or writing a circle file.
///
/// Each variant names the file and says, in the user's terms, what is wrong
/// with it and what to do; the CLI maps all of them to exit code 2.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ModelError {
    #[error("cannot read `{path}`")]
    #[diagnostic(code(model::io))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{path}` is empty, so it is not a circle model")]
    #[diagnostic(
        code(model::empty),
        help("point q-implant at the .circle file the converter wrote")
    )]
    Empty { path: PathBuf },

    #[error("`{path}` is only {len} bytes long, too short to be a circle model (a FlatBuffer needs at least 8 bytes for its root offset and identifier)")]
    #[diagnostic(
        code(model::truncated),
        help("the file may have been cut off while copying; convert the model again")
    )]
    TooShort { path: PathBuf, len: usize },

    #[error("`{path}` is a TensorFlow Lite model (identifier `TFL3`), not a circle model (identifier `CIR0`)")]
    #[diagnostic(
        code(model::tflite),
        help("convert it first, e.g. `tflite2circle model.tflite model.circle`, then run q-implant on the .circle file")
    )]
    Tflite { path: PathBuf },

    #[error(
        "`{path}` is not a circle model: its FlatBuffer identifier is {found}, expected `CIR0`"
    )]
    #[diagnostic(
        code(model::identifier),
        help("check that this is the .circle file the converter wrote")
    )]
    NotCircle { path: PathBuf, found: String },

    #[error("`{path}` is not a valid circle model: {reason}")]
    #[diagnostic(
        code(model::corrupt),
        help("the file is truncated or damaged; convert the model again (compare its size with the converter's output)")
    )]
    Corrupt { path: PathBuf, reason: String },

    #[error("`{path}`: buffer {index} stores {size} bytes at file offset {offset}, but the file ends at byte {file_len}")]
    #[diagnostic(
        code(model::buffer_out_of_bounds),
        help("a model in the large-model layout keeps its weights after the FlatBuffer; the file was probably cut short")
    )]
    BufferOutOfBounds {
        path: PathBuf,
        index: usize,
        offset: u64,
        size: u64,
        file_len: u64,
    },

    #[error("`{path}`: {what}")]
    #[diagnostic(
        code(model::bad_reference),
        help("the model refers to something it does not contain; convert it again")
    )]
    BadReference { path: PathBuf, what: String },

    #[error("cannot write `{path}`")]
    #[diagnostic(code(model::write))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the model's FlatBuffer would be {size} bytes, over the format's 2 GiB limit, even in the large-model layout")]
    #[diagnostic(
        code(model::too_large),
        help("the model's graph itself (not its weights) is too large to store")
    )]
    TooLarge { size: usize },

    #[error(
        "the plain layout cannot hold this model ({size} bytes, over the 2 GiB FlatBuffer limit)"
    )]
    #[diagnostic(
        code(model::plain_too_large),
        help("write it in the large-model layout (`--layout large`, or leave `--layout auto`)")
    )]
    PlainTooLarge { size: u64 },
}
