"""The File menu and everything about files in the window: sessions, images, Keras configs, code, figures.

Installed by MainWindow with one line (`self.file_actions = FileActions(self)`). It owns the current file
path, the modified marker in the title (the undo stack's clean state), recent files (QSettings) and
drag-and-drop of a session or image onto the window. `activate()`, called when the app starts, adds the
prompt before unsaved work is closed and the recovery file: unsaved work is autosaved beside the app's
data and offered back at the next start after a crash.

Every question to the user goes through `self.dialogs` (a `Dialogs`), so tests swap in answers.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QLockFile, QObject, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import ConfigError, seed_input, seed_pipeline
from cnnviz.io import (
    Session,
    SessionError,
    export_keras_config,
    generate_code,
    import_keras_config,
    load_image,
    load_session,
    save_session,
)
from cnnviz.io.image import default_grid, image_size
from cnnviz.io.model_import import import_model
from cnnviz.io.onnx_export import export_onnx
from cnnviz.io.paths import same_file, shown_name
from cnnviz.io.session import SUFFIX, write_atomic
from cnnviz.ui import settings
from cnnviz.ui.figure import WidgetFigure, figure_format, layer_figure, pipeline_figure, save_figure

SK = QKeySequence.StandardKey
MAX_RECENT = 8
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SESSION_FILTER = "cnnviz sessions (*.cnnviz.json);;All files (*)"
RECOVERY_GLOB = "recovery*.cnnviz.json"  # recovery-<pid>-<n>.cnnviz.json, one per window, + ".lock" while open
_WINDOWS = itertools.count(1)
AUTOSAVE_MS = 30_000


def recovery_dir() -> Path:
    """Where unsaved work is autosaved: $CNNVIZ_RECOVERY_DIR (tests), else the app's data folder."""
    override = os.environ.get("CNNVIZ_RECOVERY_DIR")
    base = override or QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".cnnviz")


class Dialogs:
    """The questions FileActions asks; each returns the answer (None = cancelled)."""

    def __init__(self, parent: QWidget):
        self.parent = parent

    def open_path(self, title: str, filters: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, "", filters)
        return path or None

    def save_path(self, title: str, filters: str, suggested: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, filters)
        return path or None

    def save_changes(self, name: str) -> str:
        """"save", "discard" or "cancel"."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(self.parent, "Unsaved changes", f"Save the changes to {name}?",
                                      buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def recover(self, when: str) -> bool:
        answer = QMessageBox.question(
            self.parent, "Recover unsaved work",
            f"cnnviz closed without saving your work ({when}). Open the recovered work?")
        return answer == QMessageBox.StandardButton.Yes

    def error(self, title: str, message: str) -> None:
        QMessageBox.warning(self.parent, title, message)

    def info(self, title: str, message: str) -> None:
        QMessageBox.information(self.parent, title, message)

    def png_scale(self) -> float | None:
        value, ok = QInputDialog.getDouble(self.parent, "PNG scale", "Pixels per figure unit (2 = sharp on slides):",
                                           2.0, 0.25, 8.0, 2)
        return value if ok else None

    def image_options(self, path: str, shape) -> tuple[tuple[int, int], str] | None:
        dialog = ImageImportDialog(path, shape, self.parent)
        return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None


class ImageImportDialog(QDialog):
    """Grey or RGB, grid rows × cols, and a live preview of exactly the numbers that will be imported."""

    def __init__(self, path: str, shape, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Import {os.path.basename(path)}")
        self.path = path
        h, w = image_size(path)
        rows, cols = default_grid((h, w), shape[:2])
        channels = shape[2]
        self.grey, self.rgb = QRadioButton("Greyscale (1 channel)"), QRadioButton("RGB (3 channels)")
        (self.rgb if channels == 3 else self.grey).setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.grey)
        group.addButton(self.rgb)
        self.rows, self.cols = QSpinBox(), QSpinBox()
        for box, value in ((self.rows, rows), (self.cols, cols)):
            box.setRange(1, 256)
            box.setValue(value)
            box.valueChanged.connect(self._update)
        self.grey.toggled.connect(self._update)
        self.preview = QLabel()
        self.preview.setObjectName("imagePreview")
        self.preview.setMinimumSize(220, 220)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020;")
        form = QFormLayout()
        form.addRow("Image", QLabel(f"{os.path.basename(path)}: {w}×{h} pixels"))
        mode = QHBoxLayout()
        mode.addWidget(self.grey)
        mode.addWidget(self.rgb)
        form.addRow("Channels", mode)
        size = QHBoxLayout()
        size.addWidget(self.rows)
        size.addWidget(QLabel("rows ×"))
        size.addWidget(self.cols)
        size.addWidget(QLabel("cols"))
        form.addRow("Grid", size)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(QLabel("Values are scaled to 0..1; each cell is the mean of the pixels it covers."))
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._update()

    def choice(self) -> tuple[tuple[int, int], str]:
        return (self.rows.value(), self.cols.value()), "grey" if self.grey.isChecked() else "rgb"

    def _update(self):
        size, mode = self.choice()
        try:
            array = load_image(self.path, size, mode)
        except SessionError as e:
            self.error.setText(str(e))
            return
        rgb = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
        pixels = np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))
        image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.shape[1] * 3, QImage.Format.Format_RGB888)
        side = 220
        self.preview.setPixmap(QPixmap.fromImage(image.copy()).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))


class FileActions(QObject):
    def __init__(self, window, dialogs: Dialogs | None = None):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.dialogs = dialogs or Dialogs(window)
        self.path: str | None = None
        self.training_settings: dict | None = None  # the open session's "training" section, written back on save
        self._recovery_name = f"recovery-{os.getpid()}-{next(_WINDOWS)}.cnnviz.json"
        self._lock: QLockFile | None = None  # held while this window runs, so other windows leave its file alone
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._unsaved_edits = False  # anything new since the last autosave (a big session takes ~0.5 s)
        for signal in (self.document.outputsChanged, self.document.pipelineChanged, self.document.inputChanged):
            signal.connect(self._note_edit)
        self._make_actions()
        self._install_menu(window.menus["File"])
        self.document.undo_stack.cleanChanged.connect(self._update_title)
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        self._update_title()

    # ------------------------------------------------------------------ menu
    def _make_actions(self):
        w = self.window

        def make(text, slot, shortcut=None, tip=""):
            action = QAction(text, w)
            if shortcut is not None:
                action.setShortcuts(QKeySequence.keyBindings(shortcut) if isinstance(shortcut, SK)
                                    else [QKeySequence(shortcut)])
            action.setStatusTip(tip)
            action.triggered.connect(lambda checked=False: slot())
            return action

        self.new_action = make("&New", self.new, SK.New, "Start again from the lecture's example")
        self.open_action = make("&Open…", self.open, SK.Open, "Open a .cnnviz.json session")
        self.save_action = make("&Save", self.save, SK.Save, "Save the input, the layers and their weights")
        self.save_as_action = make("Save &As…", self.save_as, SK.SaveAs, "Save under a new name")
        if self.save_as_action.shortcut().isEmpty():
            self.save_as_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.import_image_action = make("Import &image…", self.import_image, None,
                                        "Use a PNG or JPEG as the input grid (grey or RGB, resized)")
        self.import_keras_action = make("Import &Keras config…", self.import_keras, None,
                                        "Load the layers of a Keras Sequential config (JSON)")
        self.export_keras_action = make("Export Keras &config…", self.export_keras, None,
                                        "The layers as Keras Sequential config JSON")
        self.open_model_action = make("Open &model…", self.open_model, None,
                                      "A trained Keras (.keras, .h5) or ONNX model: its layers and weights")
        self.export_onnx_action = make("Export &ONNX model…", self.export_onnx, None,
                                       "The layers and their weights as an ONNX model (N×C×H×W input)")
        self.export_code_actions = {
            fw: make(label, lambda fw=fw: self.export_code(fw), None, f"A runnable {label.strip('.…')} module")
            for fw, label in (("keras", "Keras…"), ("pytorch", "PyTorch…"))
        }
        self.export_figure_actions = {
            scope: make(label, lambda scope=scope: self.export_figure(scope), None, tip)
            for scope, label, tip in (
                ("pipeline", "Whole pipeline…", "Every level with its values, as PNG, SVG or PDF"),
                ("layer", "Selected layer…", "The selected layer's input, filters and output"),
                ("frame", "Step-through frame…", "The step-through as it is now"),
            )
        }

    def _install_menu(self, menu):
        before = menu.actions()[0] if menu.actions() else None  # keep Quit last
        self.recent_menu = QMenu("Open &recent", menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        items = [self.new_action, self.open_action, self.recent_menu, None, self.save_action, self.save_as_action,
                 None, self.import_image_action, self.open_model_action, self.import_keras_action,
                 self.export_keras_action, self.export_onnx_action, "code",
                 "figure", None]
        for item in items:
            if item is None:
                menu.insertSeparator(before)
            elif item in ("code", "figure"):
                sub = QMenu("Export &code" if item == "code" else "Export &figure", menu)
                sub.addActions(list((self.export_code_actions if item == "code" else self.export_figure_actions).values()))
                menu.insertMenu(before, sub)
            elif isinstance(item, QAction):
                menu.insertAction(before, item)
            else:
                menu.insertMenu(before, item)

    def _fill_recent(self):
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda checked=False, p=path: self.open(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def recent_files(self) -> list[str]:
        value = settings.open_settings().value("files/recent", [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [p for p in paths if isinstance(p, str) and p][:MAX_RECENT]

    def _remember(self, path: str):
        self._store_recent([path] + [p for p in self.recent_files() if p != path])

    def _forget(self, path: str):
        if path in self.recent_files():
            self._store_recent([p for p in self.recent_files() if p != path])

    def _store_recent(self, paths: list[str]):
        s = settings.open_settings()
        s.setValue("files/recent", paths[:MAX_RECENT])
        s.sync()

    # ------------------------------------------------------------------ title and closing
    @property
    def modified(self) -> bool:
        return not self.document.undo_stack.isClean()

    def _update_title(self, *_):
        if not shiboken6.isValid(self.window):  # the undo stack says "clean" once more while the window dies
            return
        name = os.path.basename(self.path) if self.path else "Untitled"
        self.window.setWindowTitle(f"{name}[*] — cnnviz")
        self.window.setWindowModified(self.modified)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current work (saved, discarded, or nothing to save)."""
        if not self.modified:
            return True
        answer = self.dialogs.save_changes(os.path.basename(self.path) if self.path else "Untitled")
        if answer == "save":
            return self.save()
        return answer == "discard"

    def close_guard(self) -> bool:
        ok = self.maybe_save()
        if ok:
            self._autosave.stop()
            self.remove_recovery()
            if self._lock is not None:
                self._lock.unlock()
        return ok

    # ------------------------------------------------------------------ sessions
    def current_session(self) -> Session:
        doc = self.document
        doc.flush()
        return Session(doc.input.copy(), doc.pipeline.copy(),
                       {"selected_layer": doc.selected_layer, "training": doc.training}, self.training_settings)

    def new(self):
        if self.maybe_save():
            self._replace(Session(seed_input(), seed_pipeline(), {"selected_layer": 1}), None)

    def open(self, path: str | None = None) -> bool:
        if path is None:
            path = self.dialogs.open_path("Open session", SESSION_FILTER)
            if path is None:
                return False
        try:
            session = load_session(path)  # validated completely before the current work is touched
        except SessionError as e:
            if not os.path.exists(path):
                self._forget(os.path.abspath(path))  # moved or deleted: no use offering it again
            self.dialogs.error("Cannot open", str(e))
            return False
        if not self.maybe_save():
            return False
        return self.open_session(session, path)

    def open_session(self, session: Session, path: str | None, modified: bool = False) -> bool:
        try:
            self._replace(session, path, modified)
        except ConfigError as e:
            self.dialogs.error("Cannot open", str(e))
            return False
        if path and not modified:
            self._remember(os.path.abspath(path))
        return True

    def _replace(self, session: Session, path: str | None, modified: bool = False):
        doc = self.document
        doc.set_pipeline(session.pipeline, session.input, text="Open session")
        if bool(session.view.get("training", False)) != doc.training:
            doc.set_training(bool(session.view.get("training")))
        doc.select_layer(int(session.view.get("selected_layer", 1 if session.pipeline.layers else 0)))
        doc.flush()
        doc.undo_stack.clear()  # a fresh file: nothing to undo, and the clean state is here
        self.training_settings = session.training  # kept as read, written back on save (io/training_settings.py)
        self.path = path
        if modified:
            doc.undo_stack.resetClean()  # recovered work has never been saved
        self._update_title()

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        suggested = self.path or "untitled" + SUFFIX
        path = self.dialogs.save_path("Save session", SESSION_FILTER, suggested)
        if path is None:
            return False
        if not path.endswith(".json"):
            path += SUFFIX
        return self._write(path)

    def _write(self, path: str) -> bool:
        try:
            save_session(self.current_session(), path)
        except (SessionError, OSError) as e:
            self.dialogs.error("Cannot save", str(e))
            return False
        self.path = path
        self.document.undo_stack.setClean()
        self.remove_recovery()
        self._remember(os.path.abspath(path))
        self._update_title()
        return True

    # ------------------------------------------------------------------ recovery
    @property
    def recovery_path(self) -> Path:
        return recovery_dir() / self._recovery_name

    def activate(self):
        """At app start (the `cnnviz` command): offer work a crash left behind, autosave unsaved work from
        now on, and ask before unsaved work is closed. A window built without it (tests, embedding) never
        blocks its own closing with a question.

        Each window autosaves to its own file and holds a lock beside it while it runs, so a second window
        neither offers, deletes nor overwrites the first one's work: only files whose window is gone (no
        lock, or the lock of a dead process) are offered, newest first; one accepted ends the offers."""
        if self.close_guard not in self.window.close_guards:
            self.window.close_guards.append(self.close_guard)
        for path in _left_behind(recovery_dir()):
            try:
                session = load_session(path)
            except SessionError:
                session = None  # a damaged recovery file is of no use to anyone
            accepted = session is not None and self.dialogs.recover(_age(path))
            if accepted:
                source = session.view.pop("recovery_of", None)
                accepted = self.open_session(session, source if isinstance(source, str) else None, modified=True)
            _remove(path)
            if accepted:
                self.autosave()  # under this window's name, so a second crash still has it
                break
        self._lock = _held_lock(self.recovery_path)
        self._autosave.start()

    def _note_edit(self, *_):
        self._unsaved_edits = True

    def autosave(self):
        if not self.modified:
            self.remove_recovery()
            return
        if not self._unsaved_edits and self.recovery_path.exists():
            return
        self._unsaved_edits = False
        session = self.current_session()
        if self.path:
            session.view["recovery_of"] = os.path.abspath(self.path)
        try:
            self.recovery_path.parent.mkdir(parents=True, exist_ok=True)
            save_session(session, self.recovery_path)
        except (SessionError, OSError):
            pass  # autosave is a safety net: never interrupt the user over it

    def remove_recovery(self):
        _remove(self.recovery_path)

    # ------------------------------------------------------------------ import / export
    def import_image(self, path: str | None = None) -> bool:
        if path is None:
            path = self.dialogs.open_path("Import image", "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
            if path is None:
                return False
        try:
            options = self.dialogs.image_options(path, self.document.input.shape)
            if options is None:
                return False
            size, mode = options
            array = load_image(path, size, mode)
            self.document.set_input(array, text=f"Import {os.path.basename(path)}")
        except (SessionError, ConfigError) as e:
            self.dialogs.error("Cannot import image", str(e))
            return False
        return True

    def import_keras(self, path: str | None = None) -> bool:
        path = path or self.dialogs.open_path("Import Keras config", "Keras config (*.json);;All files (*)")
        if path is None:
            return False
        doc = self.document
        try:
            pipeline = import_keras_config(path, input_shape=doc.input.shape)
            x = doc.input if tuple(pipeline.input_shape) == doc.input.shape else np.zeros(pipeline.input_shape, np.float32)
            doc.set_pipeline(pipeline, x, text="Import Keras config")
        except (SessionError, ConfigError) as e:
            self.dialogs.error("Cannot import Keras config", str(e))
            return False
        return True

    def open_model(self, path: str | None = None) -> bool:
        """The model's layers with their weights replace the pipeline (undoable); the current input is
        resized into the model's input where it can be. A message says what came in and what did not."""
        path = path or self.dialogs.open_path("Open model", "Models (*.keras *.h5 *.hdf5 *.onnx);;All files (*)")
        if path is None:
            return False
        doc = self.document
        try:
            model = import_model(path)
            session = model.session(current=doc.input)
            doc.set_pipeline(model.pipeline, session.input, text=f"Open model {os.path.basename(path)}")
        except (SessionError, ConfigError) as e:
            self.dialogs.error("Cannot open model", str(e))
            return False
        self.dialogs.info("Model opened", f"{model.summary()}.\n\n{model.input_note[0].upper()}{model.input_note[1:]}.")
        return True

    def export_onnx(self) -> bool:
        path = self._export_path("Export ONNX model", "ONNX model (*.onnx)", "model.onnx")
        return path is not None and self._guard("Cannot export ONNX", lambda: export_onnx(self.document.pipeline, path))

    def export_keras(self) -> bool:
        path = self._export_path("Export Keras config", "Keras config (*.json)", "model.json")
        return path is not None and self._guard("Cannot export", lambda: export_keras_config(self.document.pipeline, path))

    def export_code(self, framework: str) -> bool:
        path = self._export_path(f"Export {framework} code", "Python (*.py)", f"model_{framework}.py")
        if path is None:
            return False
        return self._guard("Cannot export code", lambda: write_atomic(
            Path(path), generate_code(self.current_session(), framework).encode("utf-8")))

    def export_figure(self, scope: str) -> bool:
        figure = self.figure(scope)
        if figure is None:
            return False
        path = self._export_path("Export figure", "PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)",
                                      "figure.png")
        if path is None:
            return False
        try:
            scale = self.dialogs.png_scale() if figure_format(path) == "png" else 1.0
        except SessionError as e:
            self.dialogs.error("Cannot export figure", str(e))
            return False
        return scale is not None and self._guard("Cannot export figure", lambda: save_figure(figure, path, scale))

    def _export_path(self, title: str, filters: str, suggested: str) -> str | None:
        """The chosen name, or None; never the open session's own file, which the export would replace."""
        path = self.dialogs.save_path(title, filters, suggested)
        if path is not None and self.path is not None and same_file(path, self.path):
            self.dialogs.error(title, f"{shown_name(path)} is the open session: exporting there would replace "
                                      "it, so choose another name")
            return None
        return path

    def figure(self, scope: str):
        """The figure the Export figure actions write: "pipeline", "layer" or "frame" (None if not shown)."""
        doc = self.document
        doc.flush()
        if scope == "pipeline":
            return pipeline_figure(doc.input, doc.pipeline, doc.outputs, training=doc.training)
        if scope == "layer":
            if doc.selected_layer == 0:
                self.dialogs.error("Export figure", "Select a layer first (the input has no filters or output).")
                return None
            return layer_figure(doc.input, doc.pipeline, doc.outputs, doc.selected_layer, training=doc.training)
        stepper = self.window.findChild(QWidget, "arithmeticStepper")
        if stepper is None or not stepper.isVisible():
            self.dialogs.error("Export figure", "Show the step-through first (select a sliding layer).")
            return None
        return WidgetFigure(stepper.canvas, stepper.formula_text())

    def _guard(self, title: str, work) -> bool:
        try:
            work()
        except (SessionError, ConfigError, OSError) as e:
            self.dialogs.error(title, str(e))
            return False
        return True

    # ------------------------------------------------------------------ drag and drop
    def eventFilter(self, obj, event):
        if obj is self.window and event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if _dropped_file(event) is not None:
                event.acceptProposedAction()
                return True
        if obj is self.window and event.type() == QEvent.Type.Drop:
            path = _dropped_file(event)
            if path is not None:
                event.acceptProposedAction()
                # Dialogs must not run inside the drop handler (the drag source waits): queue it.
                QTimer.singleShot(0, lambda: self.open_dropped(path))
                return True
        return super().eventFilter(obj, event)

    def open_dropped(self, path: str) -> bool:
        if path.lower().endswith(IMAGE_SUFFIXES):
            return self.import_image(path)
        return self.open(path)


def _dropped_file(event) -> str | None:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls() or len(mime.urls()) != 1:
        return None
    path = mime.urls()[0].toLocalFile()
    return path if path and path.lower().endswith((".json",) + IMAGE_SUFFIXES) else None


def _age(path: Path) -> str:
    minutes = max(0, int((time.time() - path.stat().st_mtime) // 60))
    return "just now" if minutes < 1 else f"{minutes} minute{'s' if minutes != 1 else ''} ago" if minutes < 120 \
        else f"{minutes // 60} hours ago"


def _lock_path(recovery: Path) -> str:
    return str(recovery) + ".lock"


def _held_lock(recovery: Path) -> QLockFile | None:
    """This window's claim on its recovery file (None if the folder cannot hold one: autosave still works)."""
    try:
        recovery.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    lock = QLockFile(_lock_path(recovery))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however long a session runs
    return lock if lock.tryLock(0) else None


def _left_behind(folder: Path) -> list[Path]:
    """Recovery files no running window holds, newest first."""
    orphans = []
    for path in folder.glob(RECOVERY_GLOB) if folder.is_dir() else []:
        lock = QLockFile(_lock_path(path))
        lock.setStaleLockTime(0)
        if lock.tryLock(0):  # free, or left by a process that no longer runs
            lock.unlock()
            orphans.append(path)
    return sorted(orphans, key=lambda p: p.stat().st_mtime, reverse=True)


def _remove(path: Path):
    try:
        path.unlink()
    except OSError:
        pass
