//! What can stop a run, and what can stop one operator.
//!
//! [`InterpretError`] ends a session: the input's fault (wrong shape or
//! type), or a model no runtime could run safely (a cycle, a bad index, a
//! shape whose size overflows or exceeds the memory budget).
//! [`KernelError`] stops one operator only: the session marks its outputs
//! "not evaluated" and carries on (except [`KernelError::Overflow`], which
//! becomes [`InterpretError::TooLarge`]; a caller may end the run on
//! [`KernelError::Values`], the sample's fault, with
//! [`InterpretError::SampleValues`]).

use std::fmt;

/// An operator named as people read it: `CONV_2D #3 (subgraph 0)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub opcode: String,
    pub operator: usize,
    pub subgraph: usize,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} #{} (subgraph {})",
            self.opcode, self.operator, self.subgraph
        )
    }
}

/// Why one operator could not run.
#[derive(Clone, Debug, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum KernelError {
    /// The operator uses an option or type this interpreter does not run.
    #[error("{0}")]
    #[diagnostic(code(interpret::unsupported))]
    Unsupported(String),

    /// The operator's inputs do not fit together (shapes, indices, values).
    #[error("{0}")]
    #[diagnostic(code(interpret::invalid))]
    Invalid(String),

    /// The operator cannot run on these values (an index outside the
    /// table, an integer division by zero): the data's fault, not the
    /// model's, so the caller names the sample.
    #[error("{0}")]
    #[diagnostic(code(interpret::values))]
    Values(String),

    /// An output would have more elements than memory can address.
    #[error("an output of shape {shape:?} has more elements than memory can address")]
    #[diagnostic(code(interpret::overflow))]
    Overflow { shape: Vec<usize> },
}

/// Why a session stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InterpretError {
    #[error("the model has no subgraph {index} (it has {count})")]
    #[diagnostic(
        code(interpret::no_subgraph),
        help("subgraphs are numbered from 0; `q-implant inspect` lists them")
    )]
    NoSubgraph { index: usize, count: usize },

    #[error("{place} names tensor {index}, but subgraph {subgraph} has {count} tensors")]
    #[diagnostic(
        code(interpret::bad_index),
        help("the model refers to a tensor it does not contain; convert it again")
    )]
    BadIndex {
        place: String,
        index: usize,
        subgraph: usize,
        count: usize,
    },

    #[error("{site} reads tensor `{tensor}`, which no operator writes and which is neither a graph input nor a constant")]
    #[diagnostic(
        code(interpret::unproduced),
        help("the graph is incomplete; convert the model again")
    )]
    Unproduced { site: Site, tensor: String },

    #[error("tensor `{tensor}` is written by {first} and again by {second}")]
    #[diagnostic(
        code(interpret::two_producers),
        help("each tensor must have one producer; convert the model again")
    )]
    TwoProducers {
        tensor: String,
        first: Site,
        second: Site,
    },

    #[error("{site} writes tensor `{tensor}`, which is a graph input or a constant")]
    #[diagnostic(
        code(interpret::overwrite),
        help("the graph overwrites a value it was given; convert the model again")
    )]
    WritesFixed { site: Site, tensor: String },

    #[error("the operators form a cycle: {site} needs tensor `{tensor}`, which depends on its own output")]
    #[diagnostic(
        code(interpret::cycle),
        help(
            "a circle graph must be acyclic (loops are WHILE operators); convert the model again"
        )
    )]
    Cycle { site: Site, tensor: String },

    #[error(
        "{given} inputs were given for sample {sample}, but subgraph {subgraph} has {expected}"
    )]
    #[diagnostic(
        code(interpret::input_count),
        help("give one tensor per graph input, in the order of the subgraph's inputs")
    )]
    InputCount {
        sample: usize,
        subgraph: usize,
        expected: usize,
        given: usize,
    },

    #[error("input `{tensor}` of sample {sample} has shape {found:?}, but the model declares {expected:?}")]
    #[diagnostic(
        code(interpret::input_shape),
        help("give the input in the declared shape (dimensions declared -1 may take any size)")
    )]
    InputShape {
        tensor: String,
        sample: usize,
        expected: Vec<i32>,
        found: Vec<usize>,
    },

    #[error("input `{tensor}` of sample {sample} holds {found} values, but the model declares it {expected}")]
    #[diagnostic(
        code(interpret::input_type),
        help("convert the input to the declared type (a quantized input may be given as float or as its integer values)")
    )]
    InputType {
        tensor: String,
        sample: usize,
        expected: String,
        found: String,
    },

    #[error("input `{tensor}` of sample {sample} has shape {shape:?} but holds {len} values")]
    #[diagnostic(
        code(interpret::input_data),
        help("build the input so that its values fill its shape exactly")
    )]
    InputData {
        tensor: String,
        sample: usize,
        shape: Vec<usize>,
        len: usize,
    },

    #[error("the quantization parameters of `{tensor}` do not fit it: {reason}")]
    #[diagnostic(
        code(interpret::params),
        help("give one scale and zero point, or one per slice along the quantized dimension")
    )]
    Params { tensor: String, reason: String },

    #[error("no inputs were given: feed the session before running it")]
    #[diagnostic(code(interpret::not_fed))]
    NotFed,

    #[error("inputs were already given; a session runs one set of samples")]
    #[diagnostic(code(interpret::fed_twice), help("start a new session for new inputs"))]
    FedTwice,

    #[error("tensor `{tensor}` would have shape {shape:?}, whose size in bytes overflows")]
    #[diagnostic(
        code(interpret::too_large),
        help("the model declares or computes an absurd shape; check the model")
    )]
    TooLarge { tensor: String, shape: Vec<usize> },

    #[error("{what} needs {needed} bytes, over the memory budget of {budget} bytes")]
    #[diagnostic(
        code(interpret::over_budget),
        help("run fewer samples at a time, or raise the memory budget")
    )]
    OverBudget {
        what: String,
        needed: u64,
        budget: u64,
    },

    #[error("{site} cannot run on the values of sample {sample}: {reason}")]
    #[diagnostic(
        code(interpret::sample_values),
        help("the sample holds values the model does not take (token ids past the table's rows, say); fix the sample")
    )]
    SampleValues {
        site: Site,
        sample: usize,
        reason: String,
    },

    #[error("constant `{tensor}`: {reason}")]
    #[diagnostic(
        code(interpret::constant),
        help("the model's data do not match its declarations; convert the model again")
    )]
    Constant { tensor: String, reason: String },

    #[error("cannot read the data of constant `{tensor}`")]
    #[diagnostic(code(interpret::read))]
    Read {
        tensor: String,
        #[source]
        source: std::io::Error,
    },
}
