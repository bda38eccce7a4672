"""Helpers shared by the io tests."""

import importlib.util


def import_file(path, name: str):
    """Import the Python file at `path` as module `name`, as a user would run what cnnviz generated."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_module(tmp_path, source: str, name: str):
    """Write generated `source` to tmp_path/name.py and import it."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return import_file(path, name)
