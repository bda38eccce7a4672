"""Shared test set-up: Qt renders offscreen, and nothing a test does touches the user's own files."""

import os
import tempfile

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
