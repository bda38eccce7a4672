"""The lecture tour's data: its steps, read and checked from one JSON file (resources/tour.json).

Each step names the session it starts from (an example in resources/) and what to set up on it:
layer edits, training mode, the selected layer, a side-by-side snapshot, the dock to open and the
cell to pin. Its words (title and text) live in the file, never in code. `step_session` builds the
step's session without Qt; the app then applies the view part (docks, probe, snapshot).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core import ConfigError, layer_from_config
from cnnviz.io.errors import SessionError
from cnnviz.io.session import Session, load_session

RESOURCES = Path(__file__).resolve().parents[2] / "resources"  # beside the package in a checkout or editable install
TOUR_FILE = RESOURCES / "tour.json"
STEP_KEYS = {"id", "title", "text", "session", "edits", "training", "select", "dock", "probe", "side_by_side"}


@dataclass(frozen=True)
class TourStep:
    id: str
    title: str
    text: str
    session: str = "lecture.cnnviz.json"
    edits: tuple = ()  # {"layer": i, "set": {...}} or {"insert": i, "class_name": ..., "config": {...}}
    training: bool = False
    select: int | None = None  # 1-based layer; None keeps the session's own
    dock: str | None = None  # a window dock key ("filters", "arithmetic_stepper", ...)
    probe: tuple | None = None  # (level, (row, col, channel)), pinned
    side_by_side: dict = field(default_factory=dict)  # {"layer": i or None, "then": [edits]}


def load_tour(path=TOUR_FILE) -> list[TourStep]:
    """The steps of the tour file, every one checked: its session exists and its edits apply."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SessionError(f"{path.name}: cannot read the tour ({e.strerror or e})", path=path) from None
    except ValueError as e:
        raise SessionError(f"{path.name}: not valid JSON ({e})", path=path) from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise SessionError(f"{path.name}: a tour is an object with a non-empty list of steps", path=path)
    steps = [_read_step(path, i, entry) for i, entry in enumerate(data["steps"])]
    ids = [s.id for s in steps]
    if len(set(ids)) != len(ids):
        raise SessionError(f"{path.name}: step ids must be unique, got {ids}", path=path)
    for i, step in enumerate(steps):
        try:
            step_session(step, path.parent)
        except (ConfigError, SessionError) as e:
            raise SessionError(f"{path.name}: steps[{i}] ({step.id}): {e}", path=path) from None
    return steps


def _read_step(path: Path, i: int, entry) -> TourStep:
    place = f"{path.name}: steps[{i}]"
    if not isinstance(entry, dict):
        raise SessionError(f"{place}: expected an object", path=path)
    unknown = set(entry) - STEP_KEYS
    if unknown:
        raise SessionError(f"{place}: unknown keys {sorted(unknown)} (known: {sorted(STEP_KEYS)})", path=path)
    for key in ("id", "title", "text"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise SessionError(f"{place}.{key}: expected a non-empty text", path=path)
    probe = entry.get("probe")
    if probe is not None:
        if not (isinstance(probe, dict) and isinstance(probe.get("level"), int)
                and isinstance(probe.get("cell"), list) and len(probe["cell"]) == 3):
            raise SessionError(f"{place}.probe: expected {{\"level\": n, \"cell\": [row, col, channel]}}", path=path)
        probe = (probe["level"], tuple(probe["cell"]))
    return TourStep(id=entry["id"], title=entry["title"], text=entry["text"],
                    session=entry.get("session", TourStep.session), edits=tuple(entry.get("edits", ())),
                    training=bool(entry.get("training", False)), select=entry.get("select"),
                    dock=entry.get("dock"), probe=probe, side_by_side=dict(entry.get("side_by_side", {})))


def apply_edits(pipeline, edits) -> None:
    """Change layer settings ({"layer": i, "set": {...}}) or insert layers ({"insert": i, "class_name": ...,
    "config": {...}}) in place; a bad edit raises ConfigError naming the layer."""
    layers = list(pipeline.layers)
    for edit in edits:
        if "insert" in edit:
            layers.insert(edit["insert"] - 1, layer_from_config({"class_name": edit["class_name"],
                                                                 "config": edit.get("config", {})}))
        else:
            index = edit["layer"]
            if not 1 <= index <= len(layers):
                raise ConfigError(f"edit of layer {index}: the pipeline has layers 1 to {len(layers)}", param="layer")
            layers[index - 1] = layers[index - 1].replace(**edit["set"])
        pipeline.layers = layers
    pipeline.build()


def step_session(step: TourStep, folder=RESOURCES) -> Session:
    """The session a step starts from, with its edits, training mode and selected layer."""
    session = load_session(Path(folder) / step.session)
    apply_edits(session.pipeline, step.edits)
    view = dict(session.view)
    view["training"] = step.training
    if step.select is not None:
        view["selected_layer"] = step.select
    return Session(session.input, session.pipeline, view)
