"""QSettings in one place: window geometry and state, preferences. Tests point it at a file in tmp_path."""

from __future__ import annotations

from PySide6.QtCore import QSettings

_ini_path: str | None = None

# Preference keys and their defaults (one table, so a reset knows them all).
DEFAULTS = {
    "view/color_range": "layer",  # "map", "layer" or "global"
    "view/show_values": True,
    "input/brush": 1.0,
    "tour/offered": False,  # the lecture tour was offered on a first launch
    "tour/step": 0,  # where the lecture tour was left (0-based)
    # the page in front of each panel group under the maps (panel_groups.py)
    "panels/arithmetic": "arithmetic_stepper",
    "panels/model": "model_summary",
    "panels/learning": "training",
}


def use_file(path) -> None:
    """Keep settings in an INI file at `path` (tests) instead of the user's own settings."""
    global _ini_path
    _ini_path = None if path is None else str(path)


def open_settings() -> QSettings:
    if _ini_path is not None:
        return QSettings(_ini_path, QSettings.Format.IniFormat)
    return QSettings("cnnviz", "cnnviz")


def preference(key: str):
    """The stored value of `key`, converted to the type of its default."""
    default = DEFAULTS[key]
    value = open_settings().value(key, default)
    if isinstance(default, bool):
        return value in (True, "true", "True", 1, "1")
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        return default


def set_preference(key: str, value) -> None:
    s = open_settings()
    s.setValue(key, value)
    s.sync()
