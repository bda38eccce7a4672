"""Shared test set-up: Qt renders offscreen, and nothing a test does touches the user's own files."""

import os
import tempfile
import sys

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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item):
    """A training run a test left going is stopped before pytest-qt closes its window: the window would ask
    "Stop training?" in a modal box that nobody answers, and the suite would hang there."""
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        for widget in QApplication.topLevelWidgets():
            dock = getattr(widget, "training_dock", None)
            if dock is not None and dock.run.active:
                dock.run.stop("cancelled", "")
    return (yield)
