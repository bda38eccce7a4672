"""The File menu and everything about files in the window: sessions, images, Keras configs, code, figures.

Installed by MainWindow with one line (`self.file_actions = FileActions(self)`). It owns the current file
path, the modified marker in the title (the undo stack's clean state), recent files (QSettings) and
drag-and-drop of a session or image onto the window. `activate()`, called when the app starts, adds the
prompt before unsaved work is closed and the recovery file: unsaved work is autosaved beside the app's
data and offered back at the next start after a crash.

Every question to the user goes through `self.dialogs` (a `Dialogs`, file_dialogs.py), so tests swap in
answers; where recovery files live and how they are written off the GUI thread is recovery.py.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QLockFile, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

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
from cnnviz.io.model_import import import_model
from cnnviz.io.onnx_export import export_onnx
from cnnviz.io.paths import same_file, shown_name
from cnnviz.io.training_sets import TrainingSettings
from cnnviz.io.session import SUFFIX, write_atomic
from cnnviz.ui import settings
from cnnviz.ui.arithmetic.animation_export import start_export
from cnnviz.ui.arithmetic.step_kinds import KIND_NAMES
from cnnviz.ui.channel_change import SPREAD, first_kernel_layer
from cnnviz.ui.figure import WidgetFigure, figure_format, layer_figure, pipeline_figure, save_figure
from cnnviz.ui.file_dialogs import Dialogs
from cnnviz.ui.input_fit import RESIZE, fit_input
from cnnviz.ui.recovery import BackgroundSaver, age, held_lock, left_behind, recovery_dir, remove

SK = QKeySequence.StandardKey
MAX_RECENT = 8
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SESSION_FILTER = "cnnviz sessions (*.cnnviz.json);;All files (*)"
_WINDOWS = itertools.count(1)
AUTOSAVE_MS = 30_000


def _same_settings(a: TrainingSettings, b: TrainingSettings) -> bool:
    """Equal but for the learning rate's float32 rounding (a file's optimizer config keeps float32's value)."""
    return (dataclasses.replace(a, learning_rate=b.learning_rate) == b
            and math.isclose(a.learning_rate, b.learning_rate, rel_tol=1e-6))


class FileActions(QObject):
    def __init__(self, window, dialogs: Dialogs | None = None):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.dialogs = dialogs or Dialogs(window)
        self.path: str | None = None
        self._recovery_name = f"recovery-{os.getpid()}-{next(_WINDOWS)}.cnnviz.json"
        self._lock: QLockFile | None = None  # held while this window runs, so other windows leave its file alone
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._unsaved_edits = False  # anything new since the last autosave
        self._saver = BackgroundSaver()  # the JSON of a big session takes ~0.6 s: written off the GUI thread
        for signal in (self.document.outputsChanged, self.document.structureChanged, self.document.inputChanged):
            signal.connect(self._note_edit)
        self.animation_job = None  # the animation export running, if any (arithmetic/animation_export.py)
        window.close_guards.insert(0, self._stop_animation)
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
        self.export_figure_actions["animation"] = make(
            "Step-through &animation…", lambda: self.export_animation(), None,
            "Every step of the step-through as an animated GIF, an APNG or numbered PNG frames")
        self.export_figure_actions["backward_animation"] = make(
            "&Backward step-through animation…",
            lambda: self.export_animation(self.window.findChild(QWidget, "backwardStepper")), None,
            "Every window position of the Backpropagation dock's gradient sum as an animation")

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
        # a training run's weights are unsaved work before the run becomes its undo step
        dock = getattr(self.window, "training_dock", None)
        return not self.document.undo_stack.isClean() or (dock is not None and dock.run.active)

    def _update_title(self, *_):
        if not (shiboken6.isValid(self.window) and shiboken6.isValid(self.document.undo_stack)):
            # the undo stack says "clean" once more while the window dies
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
                       {"selected_layer": doc.selected_layer, "training": doc.training},
                       self._training_section())

    def _training_section(self) -> dict | None:
        """The training section to save: the file's own while the dock shows what it said (so options the dock
        has no field for survive), else the dock's settings."""
        dock = getattr(self.window, "training_dock", None)
        loaded = getattr(self, "_loaded_training", None)
        if dock is None:
            return loaded
        settings = dock.settings()
        if loaded is not None and _same_settings(TrainingSettings.from_section(loaded), settings):
            return loaded
        return settings.to_section()

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
        dock = getattr(self.window, "training_dock", None)
        if dock is not None and session.training is not None:
            dock.apply_settings(TrainingSettings.from_section(session.training))
        self._loaded_training = session.training
        doc.undo_stack.clear()  # a fresh file: nothing to undo, and the clean state is here
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
        for path in left_behind(recovery_dir()):
            try:
                session = load_session(path)
            except SessionError:
                session = None  # a damaged recovery file is of no use to anyone
            accepted = session is not None and self.dialogs.recover(age(path))
            if accepted:
                source = session.view.pop("recovery_of", None)
                accepted = self.open_session(session, source if isinstance(source, str) else None, modified=True)
            remove(path)
            if accepted:
                self.autosave()  # under this window's name, so a second crash still has it
                break
        self._lock = held_lock(self.recovery_path)
        self._autosave.start()

    def _note_edit(self, *_):
        self._unsaved_edits = True

    def autosave(self):
        if not self.modified:
            self.remove_recovery()
            return
        if not self._unsaved_edits and self.recovery_path.exists():
            return
        if self._saver.busy:
            return  # the last snapshot is still being written; the next turn takes the newer work
        self._unsaved_edits = False
        session = self.current_session()  # a copy: the worker reads it while the user goes on editing
        if self.path:
            session.view["recovery_of"] = os.path.abspath(self.path)
        self._saver.save(session, self.recovery_path)

    def wait_for_autosave(self):
        """Let an autosave that is being written finish."""
        self._saver.wait()

    def remove_recovery(self):
        self.wait_for_autosave()  # a save still running would write the file again after it is gone
        remove(self.recovery_path)

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
            spread = True
            layer = first_kernel_layer(self.document)
            if layer is not None and array.shape[2] != self.document.input.shape[2]:
                answer = self.dialogs.channels(layer, self.document.input.shape[2], array.shape[2])
                if answer is None:
                    return False
                spread = answer == SPREAD
            self.document.set_input(array, text=f"Import {os.path.basename(path)}", spread=spread)
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
            x = doc.input
            if tuple(pipeline.input_shape) != doc.input.shape:  # never discard the user's image without asking
                answer = self.dialogs.fit_input(doc.input.shape, tuple(pipeline.input_shape))
                if answer is None:
                    return False
                blank = np.zeros(pipeline.input_shape, np.float32)
                x = fit_input(doc.input, pipeline.input_shape) if answer == RESIZE else blank
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

    def export_animation(self, stepper=None) -> bool:
        """Every step of a step-through (the forward one, or `stepper`: the backward one), at its canvas's
        size, as .gif, .apng or numbered .png frames. The frames are drawn and encoded off the GUI thread
        with a progress dialog and Cancel: True when the export started."""
        stepper = stepper or self.window.findChild(QWidget, "arithmeticStepper")
        if stepper is None or not stepper.steps:
            message = ("Click a weight or an input cell to step through its gradient first."
                       if stepper is not None and stepper.objectName() == "backwardStepper"
                       else f"Add a layer the step-through shows first: {KIND_NAMES}.")
            self.dialogs.error("Export animation", message)
            return False
        if self.animation_job is not None:
            self.dialogs.error("Export animation", "An animation is being exported: wait for it, or cancel it.")
            return False
        path = self.dialogs.save_path("Export animation", "Animated GIF (*.gif);;Animated PNG (*.apng);;"
                                      "Numbered PNG frames (*.png)", "steps.gif")
        options = path and self.dialogs.animation_options(stepper.speed.value(), len(stepper.steps))
        if not options:
            return False
        fps, scale = options
        job = self.animation_job = start_export(self.window, stepper.model, path, fps, stepper.canvas.size(), scale)
        job.failed.connect(lambda message: self.dialogs.error("Cannot export animation", message))
        job.written.connect(lambda paths: self.window.statusBar().showMessage(
            f"Wrote {shown_name(paths[0])}" + (f" and {len(paths) - 1} more frames" if len(paths) > 1 else "")
            + f" ({job.count} steps)", 8000))
        job.finished.connect(self._animation_done)
        return True

    def _animation_done(self) -> None:
        self.animation_job = None

    def _stop_animation(self) -> bool:
        """Closing the window cancels an export and waits for its thread (it leaves no file)."""
        job = self.animation_job
        if job is not None and shiboken6.isValid(job):
            job.cancel()
            job.wait()
        return True

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
