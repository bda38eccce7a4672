"""How large anything cnnviz computes may be: one definition, read by the layers, the session files and the UI.

Beyond these an edit would freeze the app for seconds or take gigabytes, so it is refused with a reason.
"""

MAX_SIDE = 4096  # rows or columns of any map
MAX_CELLS = MAX_SIDE * MAX_SIDE  # rows × columns of any map
MAX_CHANNELS = 64  # channels of any map: input channels, filters, Dense units on a map, depth_multiplier × channels
MAX_UNITS = 4096  # Dense units
MAX_KERNEL = 64  # kernel rows or columns; a transposed conv loops over kernel offsets
MAX_FACTOR = 64  # UpSampling2D size per axis
MAX_VALUES = 2**26  # any array the computation makes (outputs, padded inputs, window matrices, kernels)
MAX_WORK = 2**31  # multiply-adds (or comparisons) of one layer: a few seconds of numpy at most
# What one pipeline may ask for, whatever its layers' sizes (checked by Pipeline before any work):
MAX_LAYERS = 32  # every level gets its own maps: opening 30 ReLUs in the window takes ~1 s
MAX_LEVEL_VALUES = 2**23  # the input and every output together: computed on each edit, drawn, kept
MAX_SAVED_VALUES = 2**20  # the input and every weight together: what a session file holds (about 0.2 s to save and load)

__all__ = [
    "MAX_CELLS", "MAX_CHANNELS", "MAX_FACTOR", "MAX_KERNEL", "MAX_LAYERS", "MAX_LEVEL_VALUES", "MAX_SAVED_VALUES",
    "MAX_SIDE", "MAX_UNITS", "MAX_VALUES", "MAX_WORK",
]
