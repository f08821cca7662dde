#!/usr/bin/env bash
# Wheel smoke test. The wheel built with the pinned maturin
# (scripts/build-wheel.sh, into target/wheel/dist) must hold the q_implant
# package (its native module, type stubs, py.typed), the q-implant entry
# point and metadata, nothing else. Then, as a user would, in a fresh venv:
# `pip install .` from the checkout, and from that venv `q-implant
# --version`, the README's first command (exit code 1 with the story set's
# errors), and the module: `import q_implant` and check() on the same set.
# Run from anywhere; PYTHON picks the interpreter (default python3, 3.9 or
# later).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

fail() { echo "wheel.sh: $*" >&2; exit 1; }

echo "wheel.sh: $("$PYTHON" --version 2>&1)"
wheel=$(bash scripts/build-wheel.sh)
echo "wheel.sh: built $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB"

# What the wheel holds.
"$PYTHON" - "$wheel" <<'PY' || fail "the wheel does not hold what it should"
import re, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
names = wheel.namelist()
package = {"q_implant/__init__.py", "q_implant/__init__.pyi", "q_implant/__main__.py", "q_implant/py.typed"}
native = [n for n in names if re.fullmatch(r"q_implant/_native\.(abi3\.so|pyd)", n)]
extra = [n for n in names
         if n not in package and n not in native
         and not re.fullmatch(r"q_implant-[^/]+\.dist-info/[^/]+(/[^/]+)*", n)]
problems = [f"unexpected file in the wheel: {n}" for n in extra]
problems += [f"{n} is missing" for n in sorted(package - set(names))]
if len(native) != 1:
    problems.append(f"expected one native module, found {native}")
entry = [wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")]
if not entry or "q-implant = q_implant.__main__:main" not in entry[0].replace("q-implant=", "q-implant = "):
    problems.append("the q-implant entry point is missing")
if not re.search(r"-cp39-abi3-", sys.argv[1]):
    problems.append("the wheel is not abi3 for CPython 3.9 and later")
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# `pip install .` in a fresh venv: it builds through pyproject.toml (in
# target/, so nothing is compiled again) and installs.
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check . \
    || fail "pip install . failed"
export PATH="$WORK/venv/bin:$PATH"
[ "$(command -v q-implant)" = "$WORK/venv/bin/q-implant" ] \
    || fail "q-implant on PATH is $(command -v q-implant || echo nothing), not the installed one"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=$(q-implant --version) || fail "q-implant --version failed"
[ "$out" = "q-implant $version" ] || fail "q-implant --version printed '$out', not 'q-implant $version'"

# The README's first command: the story set has errors, so exit code 1.
set +e
out=$(q-implant check fixtures/story.circle fixtures/story.torch-qparam/qparam.json 2>&1)
code=$?
set -e
[ "$code" -eq 1 ] || { echo "$out" >&2; fail "q-implant check on the story set exited with $code, not 1"; }
grep -q error <<< "$out" || { echo "$out" >&2; fail "q-implant check on the story set printed no error"; }

# The module, from the same venv.
errors=$("$WORK/venv/bin/python" -c "import q_implant; print(q_implant.check('fixtures/story.circle', 'fixtures/story.torch-qparam/qparam.json').errors)") \
    || fail "import q_implant or check() failed"
[ "$errors" = 52 ] || fail "check() on the story set found $errors errors, not 52"
module_version=$("$WORK/venv/bin/python" -c "import q_implant; print(q_implant.__version__)")
[ "$module_version" = "$version" ] || fail "q_implant.__version__ is $module_version, not $version"

echo "wheel.sh: ok (pip install . gives q-implant $version and the q_implant module; check on the story set exits 1, and finds its 52 errors from Python)"
