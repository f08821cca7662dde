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
def inspect(model: _Path) -> Model: ...
