"""The arithmetic written out with the real numbers, from the core's provenance (plain text, no Qt).

Every line a view shows about how a number is made comes from here, so tests can compare it with the
core: the numbers in the text are the provenance's terms, the final number is the provenance's value.
"""

from __future__ import annotations

from cnnviz.ui.colormaps import format_value


def num(v: float) -> str:
    """A number as a factor: negative numbers in brackets so that `2·(−1)` reads unambiguously."""
    text = format_value(v)
    return f"({text})" if text.startswith("−") else text


def cell_name(symbol: str, cell) -> str:
    """`x[0,1]` for a single-channel picture, `x[0,1,2]` when the channel matters."""
    return f"{symbol}[{','.join(str(int(v)) for v in cell)}]"


def conv_lines(prov, channels: int) -> list[str]:
    """Conv2D: one line per input channel `x·w + … = s`, then the channels summed with the bias.

    A single-channel filter gets one line: `x₁·w₁ + … + x₉·w₉ + b = y`.
    """
    by_channel: dict[int, list] = {}
    for term in prov.terms:
        by_channel.setdefault(term.cell[2], []).append(term)
    y = format_value(prov.value)
    b = num(prov.bias)
    out = cell_name("y", prov.cell[:2])
    if channels == 1:
        products = " + ".join(f"{num(t.value)}·{num(t.coefficient)}" for t in by_channel.get(0, []))
        return [f"{out} = {products} + {b} = {y}"]
    lines, sums = [], []
    for c in sorted(by_channel):
        terms = by_channel[c]
        s = sum(t.value * t.coefficient for t in terms)
        sums.append(s)
        products = " + ".join(f"{num(t.value)}·{num(t.coefficient)}" for t in terms)
        lines.append(f"channel {c + 1}: {products} = {format_value(s)}")
    lines.append(f"{out} = " + " + ".join(num(s) for s in sums) + f" + {b} (bias) = {y}")
    return lines


def depthwise_lines(prov, channel: int, out_map: int, sums: list[float], multiplier: int) -> list[str]:
    """DepthwiseConv2D: output map `out_map` is input channel `channel` through its own 2-D filter, plus
    its bias; then, with several channels, every channel's own sum at this window (`sums`, each going to a
    map of its own) and the one number a Conv2D's 3-D filter made of these 2-D filters would add them into.
    """
    y = format_value(prov.value)
    products = " + ".join(f"{num(t.value)}·{num(t.coefficient)}" for t in prov.terms)
    out = cell_name("y", prov.cell[:2])
    lines = [f"map {out_map + 1} = channel {channel + 1} only: {out} = {products} + {num(prov.bias)} = {y}"]
    if len(sums) > 1:
        m = out_map % multiplier
        own = ", ".join(f"map {c * multiplier + m + 1} gets {format_value(s)}" for c, s in enumerate(sums))
        total = format_value(sum(sums))
        lines.append(f"Not added across channels: {own} (+ its bias); a Conv2D's 3-D filter would add them: "
                     f"{' + '.join(num(s) for s in sums)} = {total} (+ b)")
    return lines


def max_pool_lines(prov, window_values: list[float | None]) -> list[str]:
    """Max pooling: the max over the real window cells (padding ignored, shown as a blank)."""
    real = [format_value(v) for v in window_values if v is not None]
    skipped = sum(v is None for v in window_values)
    note = f"   ({skipped} padding cell{'s' if skipped != 1 else ''} ignored)" if skipped else ""
    return [f"{cell_name('y', prov.cell[:2])} = max({', '.join(real)}) = {format_value(prov.value)}{note}"]


def average_pool_lines(prov) -> list[str]:
    """Average pooling: the sum of the real cells over their count (padding does not count)."""
    real = [t for t in prov.terms if not t.padding]
    total = sum(t.value for t in real)
    skipped = len(prov.terms) - len(real)
    note = f"   ({skipped} padding cell{'s' if skipped != 1 else ''} not counted)" if skipped else ""
    sum_text = " + ".join(num(t.value) for t in real)
    steps = f"({sum_text}) / {len(real)} = {format_value(total)} / {len(real)}" if len(real) > 1 else (
        f"{format_value(total)} / 1"  # one real cell: no sum to write out
    )
    return [f"{cell_name('y', prov.cell[:2])} = {steps} = {format_value(prov.value)}{note}"]


def scatter_lines(value: float, cell, contributions: list[tuple]) -> list[str]:
    """Conv2DTranspose: one input cell times every kernel weight, added into the output canvas.

    `contributions` holds (kernel tap (a, b), weight, output (row, col), sum before, cropped?); one line
    per kernel row, each entry `out[r,c]: before + x·w = after`, so overlapping contributions show as sums.
    """
    lines = [
        f"input {cell_name('x', cell)} = {format_value(value)} is multiplied by each kernel weight "
        f"and added into the output:"
    ]
    rows: dict[int, list[str]] = {}
    for (a, _), w, target, before, cropped in contributions:
        after = format_value(before + value * w)
        entry = f"{cell_name('out', target)}: {format_value(before)} + {num(value)}·{num(w)} = {after}"
        rows.setdefault(a, []).append(entry + (" (cropped away)" if cropped else ""))
    lines += ["  " + ";   ".join(entries) for _, entries in sorted(rows.items())]
    return lines
