"""An animation export off the GUI thread: the frames are painted (QPainter on QImage, which Qt allows in any
thread) and encoded in a QThread while a progress dialog counts them and offers Cancel; the window keeps
painting and answering. A cancelled export leaves no file (io.animation.write_animation removes the numbered
frames it wrote; an animated file is not written at all).
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from cnnviz.core import ConfigError
from cnnviz.io.errors import SessionError
from cnnviz.ui.arithmetic.step_animation import export_animation


class Cancelled(Exception):
    """Raised inside the export when Cancel was pressed."""


class AnimationExport(QThread):
    """Writes every step of a copy of `model` (the window's own may change meanwhile) to `path`.

    Signals arrive in the GUI thread: `progressed(done, count)` per frame drawn, then exactly one of
    `written(paths)`, `failed(message)` or `cancelled()`."""

    progressed = Signal(int, int)
    written = Signal(list)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, model, path, fps: float, canvas: QSize | None, scale: float, parent=None):
        super().__init__(parent)
        self.model = copy.deepcopy(model)
        self.path, self.fps, self.canvas, self.scale = Path(path), fps, canvas, scale
        self.count = len(self.model.steps)
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def _check(self, *_) -> None:
        if self._stop.is_set():
            raise Cancelled

    def _frame(self, done: int, count: int) -> None:
        self._check()
        self.progressed.emit(done, count)

    def run(self) -> None:
        try:
            paths = export_animation(self.model, self.path, self.fps, self.canvas, self.scale,
                                     on_frame=self._frame, before_write=self._check)
        except Cancelled:
            self.cancelled.emit()
        except (SessionError, ConfigError, OSError, ValueError) as e:
            self.failed.emit(str(e))
        else:
            self.written.emit([str(p) for p in paths])


def start_export(parent: QWidget, model, path, fps: float, canvas: QSize | None, scale: float) -> AnimationExport:
    """Start an export with a progress dialog over `parent` (not modal: the window stays usable); Cancel
    stops it. The caller connects to the job's result signals; the dialog goes when the job ends."""
    job = AnimationExport(model, path, fps, canvas, scale, parent)
    progress = QProgressDialog(f"Drawing the frames of {job.path.name}…", "Cancel", 0, job.count + 1, parent)
    progress.setObjectName("animationProgress")
    progress.setWindowTitle("Export animation")
    progress.setWindowModality(Qt.WindowModality.NonModal)
    progress.setAutoClose(False)
    progress.setAutoReset(False)
    progress.setMinimumDuration(300)  # a quick export shows no dialog at all
    progress.setValue(0)
    job.progress = progress

    def frame_done(done: int, count: int) -> None:
        progress.setValue(done)
        progress.setLabelText(f"Frame {done} of {count} drawn" + ("; encoding the file…" if done == count else ""))

    job.progressed.connect(frame_done)
    progress.canceled.connect(job.cancel)
    job.finished.connect(progress.close)
    job.finished.connect(progress.deleteLater)
    job.finished.connect(job.deleteLater)
    job.start()
    return job
