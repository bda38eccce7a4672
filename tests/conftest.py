"""Shared test set-up: Qt renders offscreen and QSettings never touches the user's own files."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
