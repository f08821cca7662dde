"""The type stubs describe the module: a program using it passes
`mypy --strict`, and the stubs name exactly what the module exports."""
import os
import subprocess
import sys

import pytest
import q_implant

HERE = os.path.dirname(__file__)


def test_a_typed_program_passes_mypy_strict():
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", os.path.join(HERE, "typed_usage.py")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_wrong_call_fails_mypy(tmp_path):
    pytest.importorskip("mypy")
    wrong = tmp_path / "wrong.py"
    wrong.write_text("import q_implant\nq_implant.check('m.circle', 'q.json', propagate='yes')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(wrong)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "propagate" in proc.stdout, proc.stdout


def test_the_stubs_name_what_the_module_exports():
    import ast

    stub = os.path.join(os.path.dirname(q_implant.__file__), "__init__.pyi")
    with open(stub, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    named = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    named |= {t.id for n in tree.body if isinstance(n, ast.AnnAssign) for t in [n.target] if isinstance(t, ast.Name)}
    exported = set(q_implant.__all__)
    assert exported <= named | {"__version__"}, exported - named
    for name in exported:
        assert getattr(q_implant, name).__doc__ or name == "__version__", name
