"""Malformed files and bad command lines, each run as the real `cnnviz` command in its own process, with
bounds on its CPU time and memory that a loaded machine keeps easily and a runaway case does not.

tests/corpus/*.cnnviz.json are the files; tests/corpus/expected.json holds, for each case, the one line
the command must print (status 2), or "" where it must succeed (status 0) without a word.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
CPU_SECONDS = 10  # a refused file costs under 1 s of CPU; the cases that once ran away took 30 s or more
MAX_RSS_MB = 450  # Qt and numpy take ~150 MB; the 2×2-through-strides-4096 render once took 611 MB
WALL_SECONDS = 120  # only a hard stop against a hang: CPU time is what a loaded machine does not inflate

# Bad command lines: FILE is the lecture session copied into the case's folder (link.json links to it),
# CORPUS/name a corpus file; TMP in an expected line stands for the case's folder.
COMMAND_LINES = {
    "export-over-its-session": ["export-code", "FILE", "--framework", "pytorch", "-o", "FILE"],
    "export-over-its-session-dot": ["export-code", "FILE", "--framework", "keras", "-o", "./FILE"],
    "export-over-its-session-link": ["export-code", "FILE", "--framework", "keras", "-o", "link.json"],
    "render-over-its-session-absolute": ["render", "FILE", "-o", "ABSOLUTE"],
    "render-over-its-session-link": ["render", "link.json", "-o", "FILE"],
    "open-a-folder": ["."],
    "open-an-empty-name": [""],
    "render-to-an-empty-name": ["render", "FILE", "-o", ""],
    "render-to-a-folder": ["render", "FILE", "-o", "."],
    "render-a-folder": ["render", ".", "-o", "x.png"],
    "render-layer-0": ["render", "FILE", "-o", "x.png", "--layer", "0"],
    "render-scale-nan": ["render", "FILE", "-o", "x.png", "--scale", "nan"],
    "render-scale-inf": ["render", "FILE", "-o", "x.png", "--scale", "1e999"],
    "render-unknown-format": ["render", "FILE", "-o", "x.bmp"],
    "render-missing-file": ["render", "missing.cnnviz.json", "-o", "x.png"],
    "export-unknown-framework": ["export-code", "FILE", "--framework", "jax", "-o", "m.py"],
    "export-into-a-missing-folder": ["export-code", "FILE", "--framework", "keras", "-o", "no/folder/m.py"],
    "unknown-option": ["--frobnicate"],
    "render-without-arguments": ["render"],
    # the files that once ran away, through the command that draws every map
    "render-transpose-strides-4096": ["render", "CORPUS/transpose-strides-4096.cnnviz.json", "-o", "x.png"],
    "render-upsampling-64-on-64x64": ["render", "CORPUS/upsampling-64-on-64x64.cnnviz.json", "-o", "x.png"],
    "render-weights-16-million": ["render", "CORPUS/weights-16-million.cnnviz.json", "-o", "x.png"],
    "render-relu-20000": ["render", "CORPUS/relu-20000.cnnviz.json", "-o", "x.svg"],
    "render-odd-names": ["render", "CORPUS/ok-odd-names.cnnviz.json", "-o", "x.svg"],
    "render-32-layers": ["render", "CORPUS/ok-32-layers.cnnviz.json", "-o", "x.png"],
}


def file_cases():
    return sorted(p.name for p in CORPUS.glob("*.cnnviz.json"))


def run_bounded(args, cwd):
    """(status, stderr, CPU seconds, peak MB) of `python -m cnnviz.cli args` under hard CPU limits."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(Path(__file__).parent.parent),
               CNNVIZ_RECOVERY_DIR=str(cwd / "recovery"), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 5))

    with open(cwd / "stderr.txt", "wb") as err, open(cwd / "stdout.txt", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cnnviz.cli", *args], cwd=cwd, env=env, stdout=out,
                                stderr=err, preexec_fn=limit)
    timer = threading.Timer(WALL_SECONDS, lambda: os.kill(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = (cwd / "stderr.txt").read_text(errors="replace")
    return proc.returncode, stderr, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def check(name, args, tmp_path):
    status, stderr, cpu, mb = run_bounded(args, tmp_path)
    stderr = stderr.replace(str(tmp_path), "TMP")
    assert status != -signal.SIGXCPU and cpu <= CPU_SECONDS, f"{name}: {cpu:.1f} s of CPU"
    assert mb <= MAX_RSS_MB, f"{name}: {mb:.0f} MB at its peak"
    expected = EXPECTED[name]
    if expected == "":
        assert status == 0 and stderr == "", (name, status, stderr)
    else:
        assert status == 2 and "Traceback" not in stderr, (name, status, stderr)
        assert stderr.splitlines() == [expected], (name, stderr)


@pytest.mark.parametrize("name", file_cases())
def test_a_file_from_the_corpus(tmp_path, name):
    """Loaded through export-code (no Qt): refused with one line naming the file and the place, or exported."""
    shutil.copy(CORPUS / name, tmp_path / name)
    check(name, ["export-code", name, "--framework", "pytorch", "-o", "model.py"], tmp_path)


@pytest.mark.parametrize("name", sorted(COMMAND_LINES))
def test_a_bad_command_line(tmp_path, name):
    shutil.copy(Path(__file__).parent.parent / "resources" / "lecture.cnnviz.json", tmp_path / "s.cnnviz.json")
    os.symlink("s.cnnviz.json", tmp_path / "link.json")
    (tmp_path / "CORPUS").symlink_to(CORPUS)
    args = [{"FILE": "s.cnnviz.json", "./FILE": "./s.cnnviz.json", "ABSOLUTE": str(tmp_path / "s.cnnviz.json")}
            .get(a, a) for a in COMMAND_LINES[name]]
    check(name, args, tmp_path)
    assert (tmp_path / "s.cnnviz.json").read_bytes() == (Path(__file__).parent.parent / "resources" /
                                                         "lecture.cnnviz.json").read_bytes()


def test_every_case_has_its_expected_line():
    assert set(EXPECTED) == set(file_cases()) | set(COMMAND_LINES)
