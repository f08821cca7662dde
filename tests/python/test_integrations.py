"""The GitHub Action's steps (run here as the runner runs them) and the
pre-commit hook's definition."""
import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from support import ROOT


def action_steps():
    """Each step of action.yml that runs a script: its name and script."""
    steps, name, lines, indent = {}, None, None, None
    with open(os.path.join(ROOT, "action.yml"), encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if lines is not None:
                if stripped and len(line) - len(line.lstrip()) <= indent:
                    steps[name] = textwrap.dedent("".join(lines))
                    lines = None
                else:
                    lines.append(line)
                    continue
            if stripped.startswith("- name: "):
                name = stripped[len("- name: "):]
            elif stripped == "run: |":
                lines, indent = [], len(line) - len(line.lstrip())
    if lines is not None:
        steps[name] = textwrap.dedent("".join(lines))
    return steps


def run_step(script, env, tmp_path):
    full = dict(os.environ, RUNNER_TEMP=str(tmp_path), **env)
    return subprocess.run(["bash", "-c", script], env=full, capture_output=True, text=True)


@pytest.fixture
def recording_q_implant(tmp_path):
    """A `q-implant` that records its arguments, first on PATH, beside this
    Python (the action's venv holds both)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.json"
    fake = bin_dir / "q-implant"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    os.symlink(sys.executable, bin_dir / "python")
    return bin_dir, record


@pytest.mark.parametrize(
    "args,expected",
    [
        ("", []),
        ("--deny warnings", ["--deny", "warnings"]),
        ('--allow-float "my tensor" --ignore \'Q7\'', ["--allow-float", "my tensor", "--ignore", "Q7"]),
        ("--select Q* $HOME", ["--select", "Q*", "$HOME"]),
    ],
)
def test_the_action_passes_arguments_with_spaces_intact(tmp_path, recording_q_implant, args, expected):
    bin_dir, record = recording_q_implant
    step = action_steps()["q-implant check"]
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "MODEL": "models/my model.circle",
        "QPARAM": "export dir/qparam.json",
        "ARGS": args,
    }
    proc = run_step(step, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(record, encoding="utf-8") as f:
        argv = json.load(f)
    assert argv == ["check", "models/my model.circle", "export dir/qparam.json", "--format", "github", *expected]


def test_an_open_quote_stops_the_action(tmp_path, recording_q_implant):
    bin_dir, record = recording_q_implant
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "MODEL": "m", "QPARAM": "q", "ARGS": '--allow-float "x'}
    proc = run_step(action_steps()["q-implant check"], env, tmp_path)
    assert proc.returncode != 0 and not record.exists()


def test_the_action_installs_the_wheel_once_per_job(tmp_path):
    wheels = glob.glob(os.path.join(ROOT, "target", "wheel", "dist", "q_implant-*.whl"))
    if not wheels:
        pytest.skip("no wheel in target/wheel/dist (scripts/build-wheel.sh makes it)")
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(wheels[0], cache)
    github_path = tmp_path / "github_path"
    env = {"ACTION_PATH": ROOT, "VERSION": "", "WHEELS": str(cache), "GITHUB_PATH": str(github_path)}
    step = action_steps()["Install q-implant"]
    first = run_step(step, env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith("q-implant " + version())
    venv_bin = github_path.read_text().strip().splitlines()[-1]
    assert os.path.isfile(os.path.join(venv_bin, "q-implant"))
    # The cached wheel was installed, not a new one built.
    assert os.listdir(cache) == [os.path.basename(wheels[0])]
    again = run_step(step, env, tmp_path)
    assert again.returncode == 0 and "Installing" not in again.stdout + again.stderr


def test_the_cache_key_names_the_platform_and_the_source(tmp_path):
    out = tmp_path / "out"
    step = action_steps()["Find the wheel's cache key"]
    keys = []
    for _ in range(2):
        out.write_text("")
        proc = run_step(step, {"ACTION_PATH": ROOT, "GITHUB_OUTPUT": str(out)}, tmp_path)
        assert proc.returncode == 0, proc.stderr
        keys.append(out.read_text().strip())
    assert keys[0] == keys[1] and keys[0].startswith("key=q-implant-wheel-")


def version():
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        return next(l.split('"')[1] for l in f if l.startswith("version = "))


def test_the_pre_commit_hook_installs_the_wheel_and_runs_check():
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as f:
        hook = {}
        for line in f:
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.strip().lstrip("- ").partition(":")
            hook[key.strip()] = value.strip()
    assert hook["id"] == "q-implant-check"
    assert hook["language"] == "python"
    assert hook["entry"] == "q-implant check"
    assert hook["pass_filenames"] == "false"
