"""The desktop app (PySide6 + pyqtgraph): the only package that imports Qt."""


def __getattr__(name):
    # MainWindow pulls in pyqtgraph and every panel: load it only when asked for.
    if name == "MainWindow":
        from cnnviz.ui.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)


__all__ = ["MainWindow"]
