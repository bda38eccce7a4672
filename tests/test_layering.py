"""Dependencies point one way (ui -> io -> core): the core and io import no Qt and no pyqtgraph."""

import subprocess
import sys


def test_core_and_io_pull_in_no_qt():
    code = (
        "import sys, cnnviz.core, cnnviz.io\n"
        "import pkgutil, importlib\n"
        "for pkg in (cnnviz.core, cnnviz.io):\n"
        "    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Qt modules imported by core/io: {result.stdout}"
