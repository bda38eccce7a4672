"""Shared test set-up: Qt renders offscreen, and nothing a test does touches the user's own files."""

import gc
import os
import re
import tempfile
import sys
import weakref

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# QSettings and QStandardPaths follow the XDG folders on Linux; subprocess tests inherit them too.
_home = tempfile.mkdtemp(prefix="cnnviz-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_home, "cache")

# CI runs the same examples every time, so a red run is reproducible and a green one stays green;
# development runs keep exploring new examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# CI's parity environment has torch and Keras installed on purpose: there a test that skips because one of
# them cannot be imported has checked nothing, so it fails instead (locally such tests skip as usual).
import pytest  # noqa: E402

PARITY_LIBRARIES = ("torch", "keras", "tensorflow", "onnx", "onnxruntime")
ENGINE_USE = re.compile(r'import_keras\(|importorskip\("(torch|keras|tensorflow|onnxruntime)"\)|^\s*import (torch|keras|onnxruntime)\b',
                        re.M)


def pytest_collection_modifyitems(config, items):
    """Every test of a module that uses an engine is marked `parity`: CI's parity environment runs those alone
    (`-m parity`); the rest ran already in the plain environment."""
    uses_engine = {}
    for item in items:
        if item.path not in uses_engine:
            uses_engine[item.path] = bool(ENGINE_USE.search(item.path.read_text(encoding="utf-8")))
        if uses_engine[item.path]:
            item.add_marker("parity")


def _fail_a_parity_skip(report):
    if os.environ.get("CNNVIZ_PARITY") and report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if any(f"could not import '{name}'" in reason for name in PARITY_LIBRARIES):
            report.outcome = "failed"
            report.longrepr = f"CNNVIZ_PARITY is set but this skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    _fail_a_parity_skip((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):  # a module that skips itself on import
    _fail_a_parity_skip((yield).get_result())


_STARTED_RUNS = weakref.WeakSet()  # the training runs tests started (TrainingRun.start, patched below)


def pytest_runtest_setup(item):
    run = sys.modules.get("cnnviz.ui.training_run")
    if run is not None and not hasattr(run.TrainingRun.start, "recorded"):
        start = run.TrainingRun.start

        def recorded(self, *args, **kwargs):
            _STARTED_RUNS.add(self)
            return start(self, *args, **kwargs)

        recorded.recorded = True
        run.TrainingRun.start = recorded


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item):
    """A training run a test left going is stopped before pytest-qt closes its window: the window would ask
    "Stop training?" in a modal box that nobody answers, and the suite would hang there."""
    for run in list(_STARTED_RUNS):
        if run.active:
            run.stop("cancelled", "")
    result = yield
    if "qtbot" in item.fixturenames:  # only widget tests leave windows (a collection costs about 80 ms)
        _collect_closed_widgets()
    return result


def _collect_closed_widgets():
    """The windows a test closed are deleted, and the garbage they leave collected, now, between tests. Left to
    the collector's own timing, a collection ran in the middle of building the next test's window (inside
    pyqtgraph's PlotItem, PySide 6.11) and crashed the whole run with a segfault, now and then. (One cause was
    a Document freed by the collector: its undo stack now deletes its commands first, docs/architecture.md.)"""
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is None or widgets.QApplication.instance() is None:
        return
    from PySide6.QtCore import QEvent

    widgets.QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
