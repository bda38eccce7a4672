"""A Document goes, with its undo stack and commands, when its last user lets it go, and never takes the process
down with it: the garbage collector freeing a view and its Document between two tests once crashed the whole run
in QUndoStack::clear (a worker lost, now and then, on CI)."""

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
from shiboken6 import Shiboken

import cnnviz
from cnnviz import core
from cnnviz.ui.document import Document


def test_a_dropped_document_deletes_its_commands_without_the_garbage_collector(qapp):
    """The commands hold their Document weakly: no cycle, so dropping it frees it (and its stack's commands) at once."""
    x = np.zeros((6, 6, 1), np.float32)
    doc = Document(core.Pipeline(x.shape, [core.Conv2D(2, 3), core.MaxPooling2D(2)]), x)
    doc.paint_cells([(0, 0, 0)], 1.0)
    doc.paint_weights(1, [(0, 0, 0, 0)], 0.5)
    doc.set_training(True)
    doc.replace_layer(2, core.AveragePooling2D(2))
    stack = doc.undo_stack
    commands = [stack.command(i) for i in range(stack.count())]
    assert len(commands) == 4
    gone = weakref.ref(doc)
    gc.disable()
    try:
        del doc
        assert gone() is None
        assert not any(Shiboken.isValid(c) for c in commands)
    finally:
        gc.enable()


STEPPER_TESTS = Path(__file__).with_name("test_arithmetic_stepper.py")


def test_a_view_and_its_edited_document_collected_between_tests_do_not_crash():
    """The run that crashed every time before the fix, in a process of its own: two stepper tests alone, the second
    crashing in its teardown's collection (tests/conftest.py). The collector freed the view, the view its
    Document, and the Document's stack deleted its commands while the collector was tearing objects down; the
    stack now deletes them first (the Document's finaliser)."""
    tests = [f"{STEPPER_TESTS}::{name}" for name in ("test_seed_first_window_is_the_lecture_inner_product",
                                                     "test_pooling_marks_the_maximum_and_divides_by_real_cells")]
    root = str(Path(cnnviz.__file__).resolve().parent.parent)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=root)
    # no reruns and no workers: a crash is this run's exit code
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                          "-p", "no:rerunfailures", "-p", "no:xdist", *tests],
                         capture_output=True, text=True, env=env, cwd=STEPPER_TESTS.parent, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout
