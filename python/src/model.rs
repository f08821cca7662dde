//! `inspect`'s answer as typed objects: a model's subgraphs, their tensors
//! (name, type, shape, quantization) and operators.

use pyo3::prelude::*;

use q_implant::commands::inspect::Report as Inspected;

/// A tensor's quantization parameters.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
}

/// A tensor of a subgraph.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Tensor {
    pub index: usize,
    pub name: String,
    /// `float32`, `uint8`, ...
    pub dtype: String,
    pub shape: Vec<i32>,
    /// Whether it holds constant data (a weight, a bias).
    pub constant: bool,
    /// The size of its constant data.
    pub bytes: Option<u64>,
    /// The operator that writes it, and those that read it (indices).
    pub producer: Option<usize>,
    pub consumers: Vec<usize>,
    pub quantization: Option<Py<Quantization>>,
}

#[pymethods]
impl Tensor {
    fn __repr__(&self) -> String {
        format!("<Tensor {} {} {:?}>", self.name, self.dtype, self.shape)
    }
}

/// An operator of a subgraph.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Operator {
    pub index: usize,
    pub opcode: String,
    /// Tensor indices; None marks an omitted optional input.
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
}

#[pymethods]
impl Operator {
    fn __repr__(&self) -> String {
        format!("<Operator {} #{}>", self.opcode, self.index)
    }
}

/// A subgraph of the model: its tensors and operators.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Subgraph {
    pub name: Option<String>,
    pub tensors: Vec<Py<Tensor>>,
    pub operators: Vec<Py<Operator>>,
    /// The graph's input and output tensors (indices).
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

/// What a model holds.
#[pyclass(frozen, module = "q_implant")]
pub struct Model {
    #[pyo3(get)]
    subgraphs: Vec<Py<Subgraph>>,
    /// `plain`, or `large` (buffers after the FlatBuffer).
    #[pyo3(get)]
    layout: String,
    json: String,
}

#[pymethods]
impl Model {
    /// The model as `q-implant inspect --format json` prints it.
    fn to_json(&self) -> String {
        self.json.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Model: {} subgraphs, {} layout>",
            self.subgraphs.len(),
            self.layout
        )
    }
}

impl Model {
    pub fn new(py: Python<'_>, inspected: &Inspected) -> PyResult<Model> {
        let subgraphs = inspected
            .subgraphs
            .iter()
            .map(|sg| {
                let tensors = sg
                    .tensors
                    .iter()
                    .map(|t| {
                        let quantization = t
                            .quantization
                            .as_ref()
                            .map(|q| {
                                Py::new(
                                    py,
                                    Quantization {
                                        scale: q.scale.clone(),
                                        zero_point: q.zero_point.clone(),
                                        quantized_dimension: q.quantized_dimension,
                                    },
                                )
                            })
                            .transpose()?;
                        Py::new(
                            py,
                            Tensor {
                                index: t.index,
                                name: t.name.clone(),
                                dtype: t.dtype.to_ascii_lowercase(),
                                shape: t.shape.clone(),
                                constant: t.constant,
                                bytes: t.bytes,
                                producer: t.producer,
                                consumers: t.consumers.clone(),
                                quantization,
                            },
                        )
                    })
                    .collect::<PyResult<_>>()?;
                let operators = sg
                    .operators
                    .iter()
                    .map(|op| {
                        Py::new(
                            py,
                            Operator {
                                index: op.index,
                                opcode: op.opcode.clone(),
                                inputs: op.inputs.clone(),
                                outputs: op.outputs.clone(),
                            },
                        )
                    })
                    .collect::<PyResult<_>>()?;
                Py::new(
                    py,
                    Subgraph {
                        name: sg.name.clone(),
                        tensors,
                        operators,
                        inputs: sg.inputs.clone(),
                        outputs: sg.outputs.clone(),
                    },
                )
            })
            .collect::<PyResult<_>>()?;
        Ok(Model {
            subgraphs,
            layout: inspected.layout.to_string(),
            json: inspected.to_json() + "\n",
        })
    }
}
