"""The QApplication and the safety net: unexpected errors are logged and shown, the window stays."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import cnnviz
from cnnviz.core.allocator import keep_freed_memory
from cnnviz.ui.pyqtgraph_setup import configure_pyqtgraph

log = logging.getLogger("cnnviz")


def create_app(argv=None) -> QApplication:
    keep_freed_memory()  # every edit makes its levels' arrays anew
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(sys.argv if argv is None else argv))
        app.setApplicationName("cnnviz")
        app.setOrganizationName("cnnviz")
        app.setApplicationVersion(cnnviz.__version__)
    configure_pyqtgraph()
    return app


def log_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home())
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path / "cnnviz.log"


def install_excepthook(window=None) -> None:
    """Log every uncaught exception and show it in a message box; the event loop and the work go on."""
    try:
        handler = logging.FileHandler(log_path(), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    except OSError:
        pass  # no writable place for a log: the message box still shows the error

    def hook(kind, value, tb):
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("unexpected error\n%s", text)
        sys.__stderr__ and sys.__stderr__.write(text)
        box = QMessageBox(QMessageBox.Icon.Critical, "cnnviz: unexpected error",
                          f"Something went wrong: {value}\n\nYour work is still open; saving it now is a good idea.",
                          QMessageBox.StandardButton.Ok, window)
        box.setDetailedText(text)
        box.open()  # not exec(): a modal loop inside a failing slot could fail again

    sys.excepthook = hook


def run(argv=None, setup=None) -> int:
    """Create the app and the main window, call `setup(window)` (e.g. to open a file), run the loop."""
    app = create_app(argv)
    from cnnviz.ui.main_window import MainWindow

    window = MainWindow()
    install_excepthook(window)
    if setup is not None:
        setup(window)
    window.show()
    if "--quit-after-start" in (argv or []):  # smoke tests: start, paint once, leave cleanly
        QTimer.singleShot(200, window.close)
    return app.exec()
