"""Shared test set-up: Qt renders offscreen, and nothing a test does touches the user's own files."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# QSettings and QStandardPaths follow the XDG folders on Linux; subprocess tests inherit them too.
_home = tempfile.mkdtemp(prefix="cnnviz-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_home, "cache")
