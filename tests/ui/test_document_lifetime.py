"""A Document goes, with its undo stack and commands, when its last user lets it go, and never takes the process
down with it: the garbage collector freeing a view and its Document between two tests once crashed the whole run
in QUndoStack::clear (a worker lost, now and then, on CI)."""

import gc
import os
import subprocess
import sys
import textwrap
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


_CONFTEST = '''
import gc

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item):  # as tests/conftest.py: closed windows deleted and collected between tests
    result = yield
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    return result
'''

_TESTS = '''
import numpy as np

from cnnviz import core
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.document import Document


def test_a_view(qtbot):
    qtbot.addWidget(StepperView(Document()))


def test_a_view_of_a_document_with_edits(qtbot):
    x = -np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    document = Document(core.Pipeline(x.shape, [core.MaxPooling2D(3, strides=2, padding="same")]), x)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.set_step(8)
    document.replace_layer(1, core.AveragePooling2D(3, strides=1, padding="same"))
    document.set_input(np.arange(25, dtype=np.float32).reshape(5, 5, 1))
    document.flush()
    view.set_step(1)
    document.replace_layer(1, core.AveragePooling2D(2, strides=2, padding="same"))
    document.flush()
    view.set_step(8)
'''


def test_a_view_and_its_edited_document_collected_between_tests_do_not_crash(tmp_path):
    """The run that crashed every time before the fix (a segfault in the second test's teardown), in a process of its
    own: the collector freed the view, the view its Document, and the Document's stack deleted its commands while
    the collector was tearing objects down. The stack now deletes them first (the Document's finaliser)."""
    (tmp_path / "conftest.py").write_text(textwrap.dedent(_CONFTEST))
    (tmp_path / "test_views.py").write_text(textwrap.dedent(_TESTS))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    root = str(Path(cnnviz.__file__).resolve().parent.parent)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=root)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:rerunfailures",
                          "-p", "no:xdist", "-c", str(tmp_path / "pytest.ini"), str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout
