"""cnnviz: see how a convolutional neural network transforms numbers."""

__version__ = "0.1.0"
