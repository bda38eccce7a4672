"""The desktop app (PySide6 + pyqtgraph): the only package that imports Qt."""

from cnnviz.ui.main_window import MainWindow

__all__ = ["MainWindow"]
