//! Q3xx: the `.npy` files an entry points at.

use crate::diagnostic::{Diagnostic, Rule, Severity::Error};
use crate::qparam::npy::{NpyError, NpyType};
use crate::qparam::{Entry, Field, NpyArray, NpyProblem, Problem};

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

pub static TRAILING_BYTES: Rule = Rule {
    code: "Q310",
    name: "npy-trailing-bytes",
    severity: Error,
    summary: "an npy file holds more bytes than its header accounts for",
    docs: r#"## What it does
Compares the size the header's shape and type promise with the bytes after the header; more bytes than promised is an error, as fewer is (Q305).

## Why is this bad?
The header and the data disagree: the file was concatenated, appended to, or written by a tool that got the shape wrong. Which part is the array cannot be known, and reading only what the header says would silently drop values.

## Example
A `0.npy` whose header says `(1,)` float32 followed by 8 bytes: two scales written under a one-scale header.

## Use instead
Save the array again with `np.save`, which writes a header that describes exactly its data.
"#,
};

pub static TOO_MANY_PARAMS: Rule = Rule {
    code: "Q311",
    name: "too-many-params",
    severity: Error,
    summary: "a scale or zero-point array is larger than any channel count",
    docs: r#"## What it does
Refuses `scale` and `zerop` arrays of more than 16,777,216 values without reading them.

## Why is this bad?
One value per channel never comes near that; such a file points at the wrong array (often the weights) and reading it would only cost memory.

## Example
`"scale": "2.npy"`, where `2.npy` is the weight array.

## Use instead
Point `scale` at the 1-D array of scales: one value, or one per channel.
"#,
};

/// The finding for a problem with an npy file, if it is one.
pub fn diagnose(problem: &Problem) -> Option<Diagnostic> {
    Some(match problem {
        Problem::PathOutside {
            key,
            field,
            rel,
            span,
        } => Diagnostic::new(
            &NPY_OUTSIDE,
            format!("`{key}`.{field} points outside the qparam directory: \"{rel}\""),
        )
        .key(key)
        .field(field)
        .at(span.clone())
        .help("keep npy files beside qparam.json, or pass --allow-outside-paths if this file is trusted"),
        Problem::Npy {
            key,
            field,
            origin: shown,
            span,
            problem,
        } => {
            let d = match problem {
                NpyProblem::Unreadable(why) => Diagnostic::new(
                    &NPY_MISSING,
                    format!("`{key}`.{field}: cannot read `{shown}`: {why}"),
                )
                .help("paths are relative to the directory of qparam.json"),
                NpyProblem::Format(NpyError::NotNpy(why)) => Diagnostic::new(
                    &NOT_NPY,
                    format!("`{key}`.{field}: `{shown}` is not an npy file: {why}"),
                )
                .help("save arrays with numpy: np.save(path, array)"),
                NpyProblem::Format(NpyError::Truncated { expected, found }) => Diagnostic::new(
                    &NPY_TRUNCATED,
                    format!("`{key}`.{field}: `{shown}` is cut short: its header promises {expected} bytes of data, the file holds {found}"),
                )
                .help("export the array again"),
                NpyProblem::Format(e @ NpyError::Trailing { .. }) => Diagnostic::new(
                    &TRAILING_BYTES,
                    format!("`{key}`.{field}: `{shown}`: {e}"),
                )
                .help("save the array again with np.save(path, array)"),
            };
            d.key(key).field(field).at(span.clone())
        }
        Problem::TooManyValues {
            key,
            field,
            count,
            span,
        } => Diagnostic::new(
            &TOO_MANY_PARAMS,
            format!("`{key}`.{field} holds {count} values; per-channel parameters have one per channel"),
        )
        .key(key)
        .field(field)
        .at(span.clone())
        .help(format!("point `{field}` at the 1-D array of {field} values")),
        _ => return None,
    })
}

/// The header checks: element order, and the type and rank of scale and
/// zero-point arrays.
pub fn check(entries: &[Entry], out: &mut Vec<Diagnostic>) {
    for entry in entries {
        for (field, f) in [
            ("scale", &entry.scale),
            ("zerop", &entry.zerop),
            ("value", &entry.value),
        ] {
            if let Some(f) = f {
                fortran(entry, field, f, out);
            }
        }
        if let Some(s) = &entry.scale {
            rank(
                entry,
                "scale",
                s,
                "save it as np.array([s], dtype=np.float32) (one value per channel)",
                out,
            );
            let dtype = &s.value.header.dtype;
            if *dtype != NpyType::F32 {
                let why = if *dtype == NpyType::F64 {
                    " (float64 is what np.array(python_float) gives)"
                } else {
                    ""
                };
                out.push(
                    Diagnostic::new(
                        &SCALE_DTYPE,
                        format!("`{}`.scale is {dtype}, expected float32{why}", entry.key),
                    )
                    .key(&entry.key)
                    .field("scale")
                    .at(s.span.clone())
                    .help("save it as np.array([s], dtype=np.float32)")
                    .fixable_if(entry.scales_fit_f32()),
                );
            }
        }
        if let Some(z) = &entry.zerop {
            rank(
                entry,
                "zerop",
                z,
                "save it as np.array([z], dtype=np.int64) (one value per channel)",
                out,
            );
            let dtype = &z.value.header.dtype;
            if *dtype != NpyType::I64 {
                out.push(
                    Diagnostic::new(
                        &ZEROP_DTYPE,
                        format!("`{}`.zerop is {dtype}, expected int64", entry.key),
                    )
                    .key(&entry.key)
                    .field("zerop")
                    .at(z.span.clone())
                    .help("save it with .astype(np.int64)")
                    .fixable_if(entry.zero_points().is_some()),
                );
            }
        }
    }
}

fn fortran(entry: &Entry, field: &'static str, f: &Field<NpyArray>, out: &mut Vec<Diagnostic>) {
    if f.value.header.fortran_order {
        out.push(
            Diagnostic::new(
                &FORTRAN_ORDER,
                format!(
                    "`{}`.{field}: `{}` is stored in Fortran order",
                    entry.key,
                    f.value.origin()
                ),
            )
            .key(&entry.key)
            .field(field)
            .at(f.span.clone())
            .help("save it with np.save(path, np.ascontiguousarray(array))"),
        );
    }
}

fn rank(
    entry: &Entry,
    field: &'static str,
    f: &Field<NpyArray>,
    help: &str,
    out: &mut Vec<Diagnostic>,
) {
    let shape = &f.value.header.shape;
    let d = if shape.is_empty() {
        Diagnostic::new(
            &ZERO_DIM,
            format!(
                "`{}`.{field} is a 0-d array (shape ()), expected 1-D",
                entry.key
            ),
        )
    } else if shape.len() > 1 && !entry.has_block_field {
        // Block-wise arrays are 2-D; Q413 checks their shape.
        Diagnostic::new(
            &NOT_1D,
            format!("`{}`.{field} has shape {shape:?}, expected 1-D", entry.key),
        )
    } else {
        return;
    };
    // `--fix` saves the values again as a 1-D array when it can read them.
    let readable = match field {
        "scale" => entry.scales_fit_f32(),
        _ => entry.zero_points().is_some(),
    };
    out.push(
        d.key(&entry.key)
            .field(field)
            .at(f.span.clone())
            .help(help.to_string())
            .fixable_if(readable),
    );
}
