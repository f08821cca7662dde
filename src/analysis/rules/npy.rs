//! Q3xx: the `.npy` files an entry points at.

use super::Rule;
use crate::analysis::diagnostic::Severity::Error;

pub static NPY_MISSING: Rule = Rule {
    code: "Q301",
    name: "npy-missing",
    severity: Error,
    summary: "an npy path does not exist or cannot be read",
    docs: r#"## What it does
Checks that every `scale`, `zerop` and `value` path names a readable file, relative to the directory of `qparam.json`.

## Why is this bad?
The parameters cannot be loaded; the C++ tool stops with a file error that names no tensor.

## Example
```json
{"ifm": {"dtype": "uint8", "scale": "scales/0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
with no `scales/` directory beside `qparam.json`.

## Use instead
Copy the exporter's whole output directory, or fix the path relative to `qparam.json`.
"#,
};

pub static NOT_NPY: Rule = Rule {
    code: "Q302",
    name: "not-npy",
    severity: Error,
    summary: "a file is not an npy file",
    docs: r#"## What it does
Checks the `\x93NUMPY` magic and that the header can be read.

## Why is this bad?
A `.pt`, `.txt` or empty file has no array the implanter can read.

## Example
`torch.save(t, "0.npy")` writes a PyTorch pickle under an npy name.

## Use instead
`np.save("0.npy", t.detach().cpu().numpy())`.
"#,
};

pub static NPY_OUTSIDE: Rule = Rule {
    code: "Q303",
    name: "npy-outside",
    severity: Error,
    summary: "an npy path leads outside the qparam directory",
    docs: r#"## What it does
Refuses paths that are absolute or climb out of the directory holding `qparam.json` (after following links), unless `--allow-outside-paths` is given.

## Why is this bad?
A parameter file from elsewhere should not make q-implant read arbitrary files on the machine it runs on, e.g. in CI.

## Example
```json
{"ifm": {"dtype": "uint8", "scale": "../../secrets/0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```

## Use instead
Keep the npy files in the qparam directory and use paths relative to it.
"#,
};

pub static FORTRAN_ORDER: Rule = Rule {
    code: "Q304",
    name: "fortran-order",
    severity: Error,
    summary: "an npy array is stored in Fortran order",
    docs: r#"## What it does
Checks the header's `fortran_order`.

## Why is this bad?
Circle buffers are row-major (C order). Copying a Fortran-ordered array's bytes transposes the weights silently.

## Example
`np.save("2.npy", np.asfortranarray(w))`

## Use instead
`np.save("2.npy", np.ascontiguousarray(w))`
"#,
};

pub static NPY_TRUNCATED: Rule = Rule {
    code: "Q305",
    name: "npy-truncated",
    severity: Error,
    summary: "an npy header promises more data than the file holds",
    docs: r#"## What it does
Compares the size the header's shape and type promise with the bytes after the header, before reading anything.

## Why is this bad?
The file was cut off (an interrupted copy or export); reading it would fail or read garbage.

## Example
A `2.npy` whose header says `(64, 3, 3, 3)` float32 but that holds 1 KiB.

## Use instead
Export the array again.
"#,
};

pub static SCALE_DTYPE: Rule = Rule {
    code: "Q306",
    name: "scale-dtype",
    severity: Error,
    summary: "a scale array is not float32",
    docs: r#"## What it does
Checks that `scale` holds float32.

## Why is this bad?
Circle stores scales as float32 and the C++ tool reads the npy as float32; a float64 array (what `np.array(python_float)` gives) is rejected or misread.

## Example
```python
np.save("0.npy", np.array(scale))            # scale is a Python float: float64
```

## Use instead
```python
np.save("0.npy", np.array([scale], dtype=np.float32))
```
"#,
};

pub static ZERO_DIM: Rule = Rule {
    code: "Q307",
    name: "zero-dim",
    severity: Error,
    summary: "a scale or zero-point array is 0-d",
    docs: r#"## What it does
Finds `scale` or `zerop` arrays with shape `()`.

## Why is this bad?
The format wants a 1-D array with one value per channel (one value for per-tensor). `np.save(path, x.item())` and `np.array(python_number)` give 0-d arrays, which the C++ tool rejects.

## Example
```python
np.save("1.npy", np.array(zero_point))
```

## Use instead
```python
np.save("1.npy", np.array([zero_point], dtype=np.int64))
```
"#,
};

pub static NOT_1D: Rule = Rule {
    code: "Q308",
    name: "not-1d",
    severity: Error,
    summary: "a scale or zero-point array has more than one dimension",
    docs: r#"## What it does
Checks that `scale` and `zerop` are 1-D.

## Why is this bad?
Per-channel parameters are one list along `quantized_dimension`; a `(C, 1, 1, 1)` array (a broadcastable PyTorch shape) is not that list.

## Example
```python
np.save("0.npy", scale.reshape(-1, 1, 1, 1))
```

## Use instead
```python
np.save("0.npy", scale.reshape(-1).astype(np.float32))
```
"#,
};

pub static ZEROP_DTYPE: Rule = Rule {
    code: "Q309",
    name: "zerop-dtype",
    severity: Error,
    summary: "a zero-point array is not int64",
    docs: r#"## What it does
Checks that `zerop` holds int64.

## Why is this bad?
Circle stores zero points as int64 and the C++ tool reads them as such; other types are rejected or misread.

## Example
```python
np.save("1.npy", zp.astype(np.int32))
```

## Use instead
```python
np.save("1.npy", zp.astype(np.int64))
```
"#,
};
