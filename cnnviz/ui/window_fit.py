"""The main window's size on a first start and its docks' shares: the screen decides, not a constant.

A fixed 1400×900 window was clipped on a 2× screen (960×540 logical) and left a 1366×768 laptop's maps
with a quarter of the screen. Saved geometry (what the user chose) wins over all of this.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication

PREFERRED = QSize(1400, 900)  # on a big screen: room for everything without filling a 4K monitor
SIDE_DOCKS = (330, 270)  # input and filter docks at most this wide...
SIDE_SHARES = (0.22, 0.2)  # ...and at most these shares of the window's width
ARITHMETIC_SHARE = 0.38  # the step-through and its tabs under the maps, of the window's height


def available_area(widget=None) -> QRect:
    """The screen area a window may take (without task bars), of the widget's screen or the primary one."""
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, PREFERRED.width(), PREFERRED.height())


def first_geometry(area: QRect) -> QRect:
    """Where a window with no saved geometry opens: the preferred size, shrunk to the area, centred in it."""
    size = PREFERRED.boundedTo(area.size())
    if area.width() >= 1.5 * PREFERRED.width():  # a big screen gets a bigger window, still not all of it
        size = QSize(int(area.width() * 0.8), int(area.height() * 0.85))
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(area.center())
    return rect


def side_dock_widths(window_width: int) -> tuple[int, int]:
    """(input dock, filter dock) widths for a window this wide."""
    return tuple(min(cap, int(share * window_width)) for cap, share in zip(SIDE_DOCKS, SIDE_SHARES))
