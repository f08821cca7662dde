#!/usr/bin/env bash
# The interop suite: q-implant against independent tools (the circle-schema
# reader, the onert runtime), and the q_implant module's suite
# (tests/python), in a pinned venv under .venv. The wheel is built with the
# pinned maturin (scripts/build-wheel.sh; after wheel.sh it only packages
# again) and installed into .venv. Run from anywhere; arguments go to the
# interop suite's pytest.
#
# onert's wheel (onert==0.1.0) exists only for CPython 3.10 to 3.12 on Linux
# (x86_64 and aarch64, glibc 2.28 or later), so the venv is made with the
# first of python3.12, python3.11, python3.10 and python3 that is one of
# those (PYTHON=... picks one by hand). A .venv made by any other Python is
# made again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Exit status 0 if "$1" runs and is CPython 3.10 to 3.12.
supported() {
    "$1" -c 'import platform, sys; sys.exit(not (platform.python_implementation() == "CPython" and (3, 10) <= sys.version_info[:2] <= (3, 12)))' > /dev/null 2>&1
}

if [ -n "${PYTHON:-}" ]; then
    candidates=("$PYTHON")
else
    candidates=(python3.12 python3.11 python3.10 python3)
fi
python=
for candidate in "${candidates[@]}"; do
    if supported "$candidate"; then
        python=$candidate
        break
    fi
done
if [ -z "$python" ]; then
    {
        echo "interop.sh: the interop suite needs CPython 3.10, 3.11 or 3.12 (onert 0.1.0 has wheels for those only, on Linux x86_64 and aarch64)."
        echo "Tried: ${candidates[*]}; none of them is one of those versions (or none runs)."
        echo "Get one, for example with 'apt install python3.11 python3.11-venv' or 'uv python install 3.12',"
        echo "then run this again (or set PYTHON=/path/to/python3.12)."
    } >&2
    exit 2
fi

if [ -e .venv ] && ! supported .venv/bin/python; then
    echo "interop.sh: .venv was made by an unsupported Python; making it again with $python" >&2
    rm -rf .venv
fi
if [ ! -x .venv/bin/pytest ] || ! cmp -s tests/interop/requirements.txt .venv/requirements.txt; then
    "$python" -m venv .venv || {
        echo "interop.sh: '$python -m venv' failed; on Debian or Ubuntu install the venv module, e.g. 'apt install python3.11-venv'" >&2
        exit 2
    }
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
    cp tests/interop/requirements.txt .venv/requirements.txt
fi
wheel=$(PYTHON="$python" bash scripts/build-wheel.sh)
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
cargo build --release --quiet
.venv/bin/pytest -q tests/interop "$@"
.venv/bin/pytest -q tests/python
