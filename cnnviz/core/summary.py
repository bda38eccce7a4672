"""A model summary in the form of Keras's `model.summary()`, plus what Keras does not show.

Per layer: name and type, output shape, parameters (trainable and not, as Keras counts them), the
multiply-adds one input costs, the receptive field of one output cell in input pixels, and the
parameters a Dense layer from the same input to the same output would need (the lecture's point that a
convolution's weights are few and shared). Everything is read from the layers themselves: the weights
from `get_weights()`, the work from the layer's own cost, the field from `cnnviz.core.provenance`, so a
new layer type needs nothing here.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from cnnviz.core.provenance import receptive_field

BYTES_PER_PARAM = 4  # every weight is float32


@dataclass(frozen=True)
class LayerSummary:
    index: int  # 1-based position in the pipeline
    name: str
    class_name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    trainable_params: int
    non_trainable_params: int
    multiply_adds: int  # products of a weight and a value for one input (0 for layers without weights)
    receptive_field: tuple[int, int]  # input rows × cols one output cell (the centre one) depends on

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def dense_params(self) -> int:
        """A Dense layer from this layer's input to its output, with a bias per output value."""
        return dense_params(self.input_shape, self.output_shape)


@dataclass(frozen=True)
class ModelSummary:
    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSummary, ...]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable_params for layer in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(layer.non_trainable_params for layer in self.layers)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def multiply_adds(self) -> int:
        return sum(layer.multiply_adds for layer in self.layers)

    @property
    def dense_params(self) -> int:
        """One Dense layer from the model's input straight to its output."""
        return dense_params(self.input_shape, self.output_shape)


def dense_params(input_shape, output_shape) -> int:
    """in·out weights plus out biases: what a fully connected layer between the two shapes holds."""
    n_in, n_out = math.prod(input_shape), math.prod(output_shape)
    return n_in * n_out + n_out


def parameter_counts(layer) -> tuple[int, int]:
    """(trainable, non-trainable) as Keras counts them: every array of `get_weights()`, split by its
    description (a normalisation's moving statistics are kept, not trained)."""
    counts = [0, 0]
    for spec, array in zip(layer.weight_specs(), layer.get_weights(), strict=True):
        counts[0 if spec.trainable else 1] += int(np.size(array))
    return counts[0], counts[1]


def multiply_adds(layer, input_shape, output_shape) -> int:
    """The weight products one input costs, from the layer's own count of its work; layers without
    weights compare, copy or interpolate and multiply by no weight."""
    if not layer.get_weights():
        return 0
    return int(layer._work(tuple(input_shape), tuple(output_shape)))


def centre_field(pipeline, shapes, level: int) -> tuple[int, int]:
    """Rows × cols of input pixels that the centre cell of `level` depends on (its bounding box)."""
    out = shapes[level]
    cell = (out[0] // 2, out[1] // 2, 0) if len(out) == 3 else tuple(v // 2 for v in out)
    levels = [np.broadcast_to(np.zeros((), bool), shape) for shape in shapes]  # only their shapes are read
    cells = receptive_field(pipeline, levels, level, cell)[0]
    if not cells:
        return 0, 0
    rows, cols = np.array([c[0] for c in cells]), np.array([c[1] for c in cells])
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def summarize(pipeline, name: str = "sequential") -> ModelSummary:
    """The summary of a pipeline (built on its input shape); an impossible layer raises its ConfigError."""
    outputs = pipeline.build()
    shapes = [tuple(pipeline.input_shape), *map(tuple, outputs)]
    rows = []
    for i, layer in enumerate(pipeline.layers, start=1):
        trainable, frozen = parameter_counts(layer)
        rows.append(LayerSummary(
            index=i, name=layer.name, class_name=type(layer).__name__,
            input_shape=shapes[i - 1], output_shape=shapes[i],
            trainable_params=trainable, non_trainable_params=frozen,
            multiply_adds=multiply_adds(layer, shapes[i - 1], shapes[i]),
            receptive_field=centre_field(pipeline, shapes, i),
        ))
    return ModelSummary(name, tuple(pipeline.input_shape), tuple(rows))


# ---- text, in Keras's form ------------------------------------------------------------------------

HEADERS = ("Layer (type)", "Output Shape", "Param #", "Mult-adds", "Receptive field", "Dense would need")
NAME_WIDTH = 31  # longer "name (Type)" texts wrap onto a second line, as Keras does


def readable_bytes(n: float) -> str:
    """80.00 B, 2.96 KB, 1.50 MB: powers of 1024 with two decimals, as Keras writes weight memory."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.2f} {unit}"
        n /= 1024


def shape_text(shape) -> str:
    """Keras's shape with the batch axis: (None, 4, 4, 2)."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"


def table_rows(summary: ModelSummary) -> list[tuple[str, ...]]:
    """One row of texts per layer, in the columns of HEADERS."""
    return [(f"{s.name} ({s.class_name})", shape_text(s.output_shape), f"{s.params:,}", f"{s.multiply_adds:,}",
             "{}×{}".format(*s.receptive_field), f"{s.dense_params:,}") for s in summary.layers]


def total_lines(summary: ModelSummary) -> list[str]:
    """Keras's three totals, then the multiply-adds and the Dense comparison."""
    p, t, n = summary.params, summary.trainable_params, summary.non_trainable_params
    dense = summary.dense_params
    ratio = f" ({dense / p:,.0f}× as many)" if p else ""
    return [
        f"Total params: {p:,} ({readable_bytes(p * BYTES_PER_PARAM)})",
        f"Trainable params: {t:,} ({readable_bytes(t * BYTES_PER_PARAM)})",
        f"Non-trainable params: {n:,} ({readable_bytes(n * BYTES_PER_PARAM)})",
        f"Multiply-adds per input: {summary.multiply_adds:,}",
        f"One Dense layer from the input {_dims(summary.input_shape)} to the output {_dims(summary.output_shape)}: "
        f"{dense:,} params{ratio}",
    ]


def _dims(shape) -> str:
    return "×".join(map(str, shape))


def format_summary(summary: ModelSummary) -> str:
    """The summary as `model.summary()` prints it: a boxed table, then the totals."""
    rows = [[textwrap.wrap(row[0], NAME_WIDTH) or [""], *[[v] for v in row[1:]]] for row in table_rows(summary)]
    widths = [max([len(HEADERS[j])] + [len(line) for row in rows for line in row[j]]) + 2 for j in range(len(HEADERS))]
    widths[0] = max(widths[0], NAME_WIDTH + 2)

    def line(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    def cells(texts, edge="│"):
        parts = [f" {t:<{w - 2}} " if j < 2 else f" {t:>{w - 2}} " for j, (t, w) in enumerate(zip(texts, widths))]
        return edge + edge.join(parts) + edge

    out = [f'Model: "{summary.name}"', line("┏", "━", "┳", "┓"), cells(HEADERS, "┃"), line("┡", "━", "╇", "┩")]
    for k, row in enumerate(rows):
        for n in range(max(len(column) for column in row)):
            out.append(cells([column[n] if n < len(column) else "" for column in row]))
        if k < len(rows) - 1:
            out.append(line("├", "─", "┼", "┤"))
    out.append(line("└", "─", "┴", "┘"))
    out += [" " + text for text in total_lines(summary)]
    return "\n".join(out)
