"""The one exception cnnviz.io raises for a bad file: the message names the file and the place in it."""


class SessionError(ValueError):
    """A file that cannot be read as asked, e.g.
    ``lecture.cnnviz.json: layers[2].config.strides: expected two positive integers, got [0, 1]``.

    ``path`` is the file (or None), ``place`` the location inside it (or "")."""

    def __init__(self, message: str, *, path=None, place: str = ""):
        super().__init__(message)
        self.path = path
        self.place = place
