"""Type stubs of the q_implant module (see docs/python.md)."""

import os
from typing import Any, Literal, Mapping, Optional, Sequence, Tuple, Union

__version__: str

_Path = Union[str, "os.PathLike[str]"]
# A qparam set: the path of a qparam.json, or entries held in memory,
# {name: {"dtype": "uint8", "scale": array, "zerop": array,
#         "quantized_dimension": 0, "value": array}}.
_QParam = Union[_Path, Mapping[str, Mapping[str, Any]]]
_Codes = Union[str, Sequence[str], None]
_Target = Union[str, Literal[False], None]
_Config = Union[bool, _Path, None]
# Samples to run a model on: paths (.npy, .npz, directories of them), or
# arrays: one sample as a list of arrays (one per graph input), a mapping of
# input names to arrays, or one array (a one-input model); several samples
# as a list of those.
_Array = Any
_Sample = Union[_Array, Sequence[_Array], Mapping[str, _Array]]
_Inputs = Union[_Path, Sequence[_Path], _Sample, Sequence[_Sample], None]
_Calibrate = Union[bool, _Path, Sequence[_Path], None]
_Calibration = Literal["percentile", "minmax", "moving-average"]

class Error(Exception):
    """The command could not run; str() is the error as the command line prints it."""

    code: Optional[str]
    help: Optional[str]

class ModelError(Error): ...
class QParamError(Error): ...

class CheckFailed(Error):
    """apply refused the set (errors, or denied warnings); nothing was written."""

    report: Report

class Diagnostic:
    """One finding."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def severity(self) -> Literal["error", "warning"]: ...
    @property
    def key(self) -> Optional[str]: ...
    @property
    def field(self) -> Optional[str]: ...
    @property
    def tensor(self) -> Optional[str]: ...
    @property
    def message(self) -> str: ...
    @property
    def help(self) -> Optional[str]: ...
    @property
    def line(self) -> Optional[int]: ...
    @property
    def column(self) -> Optional[int]: ...
    @property
    def suggestions(self) -> list[Tuple[str, float]]: ...
    @property
    def fixable(self) -> bool: ...

class Report:
    """The findings of a check, as shown after select/ignore."""

    @property
    def diagnostics(self) -> list[Diagnostic]: ...
    @property
    def errors(self) -> int: ...
    @property
    def warnings(self) -> int: ...
    @property
    def hidden(self) -> int: ...
    @property
    def fixable(self) -> int: ...
    @property
    def ok(self) -> bool: ...
    def to_json(self) -> str:
        """The document `q-implant check --format json` prints."""
    def __len__(self) -> int: ...

class Fix:
    @property
    def key(self) -> str: ...
    @property
    def what(self) -> str: ...

class FixReport:
    @property
    def fixed(self) -> list[Fix]: ...
    @property
    def left(self) -> list[Fix]: ...
    @property
    def report(self) -> Report: ...
    @property
    def qparam(self) -> Union[str, dict[str, Any]]:
        """The fixed qparam.json's path, or for a mapping, the fixed mapping."""
    @property
    def written(self) -> Optional[str]: ...
    @property
    def backup(self) -> Optional[str]: ...
    @property
    def calibration(self) -> Optional[Calibration]:
        """What calibrate did; None without it."""

class Calibration:
    @property
    def samples(self) -> int: ...
    @property
    def random(self) -> bool: ...
    @property
    def method(self) -> str: ...
    @property
    def calibrated(self) -> int: ...
    @property
    def warnings(self) -> list[str]: ...

class Change:
    @property
    def tensor(self) -> str: ...
    @property
    def dtype_before(self) -> str: ...
    @property
    def dtype_after(self) -> str: ...
    @property
    def bytes_before(self) -> int: ...
    @property
    def bytes_after(self) -> int: ...
    @property
    def key(self) -> Optional[str]: ...
    @property
    def propagated_from(self) -> Optional[str]: ...
    @property
    def through(self) -> Optional[str]: ...

class ApplyReport:
    @property
    def output(self) -> str: ...
    @property
    def written(self) -> bool: ...
    @property
    def bytes(self) -> Optional[int]: ...
    @property
    def layout(self) -> Optional[Literal["plain", "large"]]: ...
    @property
    def changes(self) -> list[Change]: ...
    @property
    def inserted(self) -> list[str]: ...
    @property
    def report(self) -> Report: ...

class Quantization:
    @property
    def scale(self) -> list[float]: ...
    @property
    def zero_point(self) -> list[int]: ...
    @property
    def quantized_dimension(self) -> int: ...

class Tensor:
    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def shape(self) -> list[int]: ...
    @property
    def constant(self) -> bool: ...
    @property
    def bytes(self) -> Optional[int]: ...
    @property
    def producer(self) -> Optional[int]: ...
    @property
    def consumers(self) -> list[int]: ...
    @property
    def quantization(self) -> Optional[Quantization]: ...

class Operator:
    @property
    def index(self) -> int: ...
    @property
    def opcode(self) -> str: ...
    @property
    def inputs(self) -> list[Optional[int]]: ...
    @property
    def outputs(self) -> list[int]: ...

class Subgraph:
    @property
    def name(self) -> Optional[str]: ...
    @property
    def tensors(self) -> list[Tensor]: ...
    @property
    def operators(self) -> list[Operator]: ...
    @property
    def inputs(self) -> list[int]: ...
    @property
    def outputs(self) -> list[int]: ...

class Model:
    @property
    def subgraphs(self) -> list[Subgraph]: ...
    @property
    def layout(self) -> Literal["plain", "large"]: ...
    def to_json(self) -> str:
        """The document `q-implant inspect --format json` prints."""

class TensorError:
    """One tensor of the quantized model against its float partner."""

    @property
    def name(self) -> str: ...
    @property
    def subgraph(self) -> int: ...
    @property
    def index(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    @property
    def sqnr_db(self) -> Optional[float]: ...
    @property
    def max_error_steps(self) -> Optional[float]: ...
    @property
    def clipped(self) -> Optional[float]: ...
    @property
    def mpeir(self) -> Optional[float]: ...
    @property
    def evaluated(self) -> bool: ...
    @property
    def cause(self) -> Optional[Literal["clipping", "large-error"]]: ...
    @property
    def explanation(self) -> Optional[str]: ...

class OutputError:
    """A graph output of both runs compared."""

    @property
    def name(self) -> str: ...
    @property
    def mae(self) -> Optional[float]: ...
    @property
    def max_abs_error(self) -> Optional[float]: ...
    @property
    def psnr_db(self) -> Optional[float]: ...
    @property
    def sqnr_db(self) -> Optional[float]: ...
    @property
    def top1(self) -> Optional[float]: ...
    @property
    def top5(self) -> Optional[float]: ...

class Unsupported:
    @property
    def operator(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def subgraph(self) -> int: ...

class OutputArrays:
    """A graph output's values, one numpy array per sample."""

    @property
    def name(self) -> str: ...
    @property
    def float(self) -> Optional[list[Any]]: ...
    @property
    def quantized(self) -> Optional[list[Any]]: ...

class VerifyReport:
    @property
    def samples(self) -> int: ...
    @property
    def random_inputs(self) -> bool: ...
    @property
    def tensors(self) -> list[TensorError]: ...
    @property
    def outputs(self) -> list[OutputError]: ...
    @property
    def unsupported(self) -> list[Unsupported]: ...
    @property
    def output_arrays(self) -> Optional[list[OutputArrays]]:
        """With outputs=True, each graph output's values; otherwise None."""
    def worst(self) -> list[TensorError]: ...
    def to_json(self) -> str:
        """The document `q-implant verify --format json` prints."""
    def to_html(self, title: Optional[str] = None) -> str: ...
    def to_text(self, all: bool = False) -> str: ...

class InsertedTensor:
    @property
    def tensor(self) -> str: ...
    @property
    def subgraph(self) -> int: ...
    @property
    def op(self) -> str: ...
    @property
    def params_to(self) -> Optional[str]: ...

class LeftOut:
    @property
    def tensor(self) -> str: ...
    @property
    def subgraph(self) -> int: ...
    @property
    def why(self) -> str: ...

class Extracted:
    @property
    def qparam(self) -> Union[str, dict[str, dict[str, Any]]]:
        """The set in memory, or the path of the qparam.json written."""
    @property
    def output(self) -> Optional[str]: ...
    @property
    def entries(self) -> int: ...
    @property
    def by_dtype(self) -> dict[str, int]: ...
    @property
    def inserted(self) -> list[InsertedTensor]: ...
    @property
    def left(self) -> list[LeftOut]: ...
    @property
    def renamed(self) -> int: ...
    @property
    def unresolved(self) -> list[str]: ...
    @property
    def files(self) -> Optional[int]: ...
    @property
    def bytes(self) -> Optional[int]: ...
    def to_json(self) -> str:
        """The record `q-implant extract --format json` prints."""

class Difference:
    @property
    def key(self) -> str: ...
    @property
    def kinds(self) -> list[str]: ...
    @property
    def details(self) -> dict[str, Any]: ...

class Diff:
    @property
    def differences(self) -> list[Difference]: ...
    @property
    def same(self) -> int: ...
    def to_json(self) -> str:
        """The document `q-implant diff --format json` prints."""
    def to_text(self) -> str: ...
    def __bool__(self) -> bool: ...
    def __len__(self) -> int: ...

def check(
    model: _Path,
    qparam: _QParam,
    *,
    target: _Target = None,
    select: _Codes = None,
    ignore: _Codes = None,
    allow_float: Union[str, Sequence[str], None] = (),
    propagate: Optional[bool] = None,
    float_io: Optional[bool] = None,
    config: _Config = True,
    allow_outside_paths: bool = False,
    fallback: Optional[Literal["float"]] = None,
    inputs: _Inputs = None,
    no_run: bool = False,
) -> Report: ...
def fix(
    model: _Path,
    qparam: _QParam,
    *,
    target: _Target = None,
    select: _Codes = None,
    ignore: _Codes = None,
    allow_float: Union[str, Sequence[str], None] = (),
    propagate: Optional[bool] = None,
    float_io: Optional[bool] = None,
    config: _Config = True,
    allow_outside_paths: bool = False,
    fallback: Optional[Literal["float"]] = None,
    output: Optional[_Path] = None,
    inputs: _Inputs = None,
    no_run: bool = False,
    calibrate: _Calibrate = None,
    calibration: Optional[_Calibration] = None,
) -> FixReport: ...
def apply(
    model: _Path,
    qparam: _QParam,
    out: _Path,
    *,
    target: _Target = None,
    select: _Codes = None,
    ignore: _Codes = None,
    allow_float: Union[str, Sequence[str], None] = (),
    propagate: Optional[bool] = None,
    float_io: Optional[bool] = None,
    config: _Config = True,
    allow_outside_paths: bool = False,
    fallback: Optional[Literal["float"]] = None,
    layout: Literal["auto", "plain", "large"] = "auto",
    force: bool = False,
    dry_run: bool = False,
    deny_warnings: bool = False,
) -> ApplyReport: ...
def verify(
    model: _Path,
    qparam: Optional[_QParam] = None,
    *,
    reference: Optional[_Path] = None,
    inputs: _Inputs = None,
    samples: Optional[int] = None,
    seed: Optional[int] = None,
    max_memory: Optional[int] = None,
    outputs: bool = False,
    target: _Target = None,
    select: _Codes = None,
    ignore: _Codes = None,
    allow_float: Union[str, Sequence[str], None] = (),
    propagate: Optional[bool] = None,
    float_io: Optional[bool] = None,
    config: _Config = True,
    allow_outside_paths: bool = False,
    fallback: Optional[Literal["float"]] = None,
) -> VerifyReport: ...
def extract(
    quantized: _Path,
    output: Optional[_Path] = None,
    *,
    keys_from: Optional[_Path] = None,
    float_model: Optional[_Path] = None,
    force: bool = False,
) -> Extracted: ...
def diff(
    a: _QParam,
    b: _QParam,
    *,
    rtol: Optional[float] = None,
    allow_outside_paths: bool = False,
) -> Diff: ...
def inspect(model: _Path) -> Model: ...
