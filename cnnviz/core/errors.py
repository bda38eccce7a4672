"""The one exception the core raises for anything a user can get wrong."""


class ConfigError(ValueError):
    """An impossible layer, pipeline or input setting.

    The message names the layer, the parameter and the arithmetic, for example
    ``Conv2D #1: kernel 7×7 does not fit a 6×6 input with padding "valid": output would be 0×0``.
    ``param`` names the offending parameter (``"strides"``, ``"kernel_size"``, ``"input"`` ...) so a
    form can show the message beside the field where it was typed; ``layer`` is the layer's label.
    """

    def __init__(self, message: str, *, param: str | None = None, layer: str | None = None):
        super().__init__(message)
        self.param = param
        self.layer = layer
