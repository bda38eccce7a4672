"""The `cnnviz` command: open the app, or render figures and export code without a window.

    cnnviz                         the app with the lecture's example
    cnnviz SESSION                 the app with a session file
    cnnviz render SESSION -o figure.png|svg|pdf [--layer N] [--scale S]
    cnnviz render SESSION --animate -o steps.gif|apng|png [--layer N] [--backward weight|bias|input] [--size WxH]
    cnnviz export-code SESSION --framework keras|pytorch [--train] -o model.py
    cnnviz import-model MODEL -o SESSION.cnnviz.json [--image PICTURE]
    cnnviz export-onnx SESSION -o model.onnx
    cnnviz summary SESSION

A bad file or argument ends with status 2 and one line on stderr, never a traceback. Qt is imported only
when a command needs it (render and the app), so `export-code`, `--help` and `--version` start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cnnviz

COMMANDS = ("render", "export-code", "summary", "import-model", "export-onnx")
QUIT_FOR_TESTS = "--quit-after-start"


class UsageError(Exception):
    """A bad argument; reported as one line, status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and no usage block) with status 2."""

    def error(self, message):
        raise UsageError(message)


def _app_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cnnviz",
        description="See how a convolutional neural network transforms numbers: paint the pixels, edit the "
                    "filters, build a pipeline of Keras layers and watch every layer's output change.",
        epilog="Headless commands:\n"
               "  cnnviz render SESSION -o figure.png|svg|pdf [--layer N] [--scale S]\n"
               "  cnnviz export-code SESSION --framework keras|pytorch [--train] -o model.py\n"
               "  cnnviz import-model MODEL -o SESSION.cnnviz.json [--image PICTURE]\n"
               "  cnnviz export-onnx SESSION -o model.onnx\n"
               "  cnnviz summary SESSION\n"
               "Run `cnnviz render --help` or `cnnviz export-code --help` for their options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("session", nargs="?", metavar="SESSION",
                   help="a .cnnviz.json session file to open (default: the lecture's 6×6 example)")
    p.add_argument("--version", action="version", version=f"cnnviz {cnnviz.__version__}")
    p.add_argument(QUIT_FOR_TESTS, action="store_true",
                   help="for testing: close the window right after it first appears")
    return p


def _render_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cnnviz render", description="Render a session as a figure (no display needed).")
    p.add_argument("session", metavar="SESSION", help="a .cnnviz.json session file")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the figure to write; the format follows the name: .png, .svg or .pdf")
    p.add_argument("--layer", type=int, metavar="N",
                   help="draw only layer N (1 = the first layer): its input, filters and output")
    p.add_argument("--scale", type=float, metavar="S",
                   help="PNG only: pixels per figure unit, e.g. 2 for a sharp slide (default 1)")
    p.add_argument("--animate", action="store_true",
                   help="every step of layer N's step-through (Conv2D, Conv2DTranspose, pooling; without --layer "
                        "the first such layer) as an animation instead of a figure: -o steps.gif (animated GIF), "
                        "steps.apng (animated PNG), or steps.png for numbered frames steps-001.png, steps-002.png, "
                        "… (one per step, for slides or a video tool)")
    p.add_argument("--fps", type=float, metavar="F", help="with --animate: frames per second, 0.1 to 50 (default 2)")
    p.add_argument("--size", metavar="WxH",
                   help="with --animate: the step-through's picture in pixels, e.g. 1200x420, before --scale "
                        "(default: the size its content needs, about 40 pixels a cell; the sum is written below)")
    p.add_argument("--transpose-as", choices=("scatter", "convolution"),
                   help="with --animate on a Conv2DTranspose: scatter each input cell through the kernel (default), "
                        "or step it as a convolution of the flipped kernel over the zero-inserted, padded input")
    p.add_argument("--backward", choices=("weight", "bias", "input"),
                   help="with --animate: the backward step-through instead (the Backpropagation dock's): weight = "
                        "one kernel entry's dL/dw (a Conv2D's, DepthwiseConv2D's or Conv2DTranspose's filter cell "
                        "a,b; a Dense's W[i,j]; a BatchNormalization's gamma[0,c]) summed term by term, bias = "
                        "dL/db (or beta) of the map in --cell 0,O, input = dL/dx[r,q] gathered from every output "
                        "it fed. The loss is the session's: a classifier's --target-class, or the teacher task of "
                        "its training section. Without --layer: the first layer with weights")
    p.add_argument("--cell", metavar="R,C",
                   help="with --backward: the weight's (a,b), the bias row's (0,o) or the input cell's (r,q), "
                        "counted from 0 (default 0,0)")
    p.add_argument("--filter", type=int, metavar="O", help="with --backward: the filter (output map), from 1")
    p.add_argument("--channel", type=int, metavar="C", help="with --backward: the input channel, from 1")
    p.add_argument("--target-class", type=int, metavar="K",
                   help="with --backward on a classifier: the class the input should be (default 0)")
    return p


def _code_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cnnviz export-code",
                description="Write a runnable Python module that builds the session's pipeline with its weights.")
    p.add_argument("session", metavar="SESSION", help="a .cnnviz.json session file")
    p.add_argument("--framework", required=True, choices=("keras", "pytorch"), help="keras or pytorch")
    p.add_argument("--train", action="store_true",
                   help="add the session's training (its data, loss, optimizer, batch size, seed and order)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the .py file to write")
    return p


def _import_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cnnviz import-model",
                description="Turn a trained model (.keras, .h5 or .onnx) into a session: the leading layers cnnviz "
                            "computes, with their weights; the first other layer ends the pipeline.")
    p.add_argument("session", metavar="MODEL", help="a .keras, .h5 or .onnx model file")
    p.add_argument("-o", "--output", required=True, metavar="SESSION", help="the .cnnviz.json session to write")
    p.add_argument("--image", metavar="PICTURE",
                   help="the session's input: this picture resized to the model's input (default: zeros)")
    return p


def _onnx_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cnnviz export-onnx",
                description="Write the session's pipeline with its weights as an ONNX model (input N×C×H×W).")
    p.add_argument("session", metavar="SESSION", help="a .cnnviz.json session file")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the .onnx file to write")
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "render":
            return _render(_render_parser().parse_args(argv[1:]))
        if argv and argv[0] == "export-code":
            return _export_code(_code_parser().parse_args(argv[1:]))
        if argv and argv[0] == "export-onnx":
            return _export_onnx(_onnx_parser().parse_args(argv[1:]))
        if argv and argv[0] == "import-model":
            return _import_model(_import_parser().parse_args(argv[1:]))
        if argv and argv[0] == "summary":
            return _summary(_summary_parser().parse_args(argv[1:]))
        return _open_app(_app_parser().parse_args(argv))
    except UsageError as e:
        return _fail(str(e))
    except ValueError as e:  # SessionError and ConfigError: a bad file or setting, already explained
        return _fail(str(e))
    except OSError as e:
        return _fail(f"{e.filename or ''}: {e.strerror or e}".lstrip(": "))
    except KeyboardInterrupt:
        return 130


def _fail(message: str, status: int = 2) -> int:
    print(f"cnnviz: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _check_names(args) -> None:
    """Refuse, before any work, a name that is empty and an output that is the command's own input (it would
    be replaced: through ./, an absolute path, a symlink or a hard link alike)."""
    from cnnviz.io.paths import same_file

    for flag, name in (("SESSION", args.session), ("-o", getattr(args, "output", None))):
        if name == "":
            raise UsageError(f"{flag} is an empty name (''): give a file name")
    output = getattr(args, "output", None)
    if output is not None and os.path.isdir(output):
        raise UsageError(f"-o {output} is a folder: give a file name")
    if output is not None and same_file(output, args.session):
        raise UsageError(f"-o {output} is the session being read ({args.session}): writing it would replace "
                         "the input, so choose another name")


def _render(args) -> int:
    from cnnviz.io import load_session
    from cnnviz.io.errors import SessionError

    _check_names(args)

    if not os.environ.get("QT_QPA_PLATFORM") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # render needs no screen
    if args.scale is not None and not 0.1 <= args.scale <= 16:
        raise UsageError(f"--scale must be between 0.1 and 16, got {args.scale:g}")
    session = load_session(args.session)
    n = len(session.pipeline.layers)
    if args.layer is not None and not 1 <= args.layer <= n:
        raise SessionError(f"--layer {args.layer}: {os.path.basename(args.session)} has layers 1 to {n}"
                           if n else f"--layer {args.layer}: {os.path.basename(args.session)} has no layers")
    if args.animate or any(getattr(args, name) is not None for name in ANIMATION_OPTIONS):
        return _animate(args, session)
    from PySide6.QtGui import QGuiApplication

    from cnnviz.ui.figure import figure_format, save_figure, session_figure

    if figure_format(args.output) != "png" and args.scale is not None:  # refuse a bad name before any work
        raise UsageError(f"--scale is for PNG only: {os.path.basename(args.output)} is a vector figure, "
                         "sharp at any size")
    _app = QGuiApplication.instance() or QGuiApplication(["cnnviz"])  # fonts need a GUI application
    save_figure(session_figure(session, args.layer), args.output, args.scale or 1.0)
    return 0


ANIMATION_OPTIONS = ("fps", "size", "transpose_as", "backward", "cell", "filter", "channel", "target_class")
BACKWARD_OPTIONS = ("cell", "filter", "channel", "target_class")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _size(text: str, low, high):
    """(width, height) from "1200x420" (or 1200×420), within low..high (QSize)."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 1200x420, got {text!r}")
    width, height = (int(p) for p in parts)
    if not (low.width() <= width <= high.width() and low.height() <= height <= high.height()):
        raise UsageError(f"--size {width}x{height}: the picture must be {low.width()} to {high.width()} pixels wide "
                         f"and {low.height()} to {high.height()} tall")
    return width, height


def _cell(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError(f"--cell must be two numbers from 0, ROW,COL (e.g. 0,2), got {text!r}")
    return int(parts[0]), int(parts[1])


def _animate(args, session) -> int:
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QGuiApplication

    from cnnviz.io.animation import animation_kind
    from cnnviz.ui.arithmetic.step_animation import MAX_CANVAS, MIN_CANVAS, export_animation, session_step_model

    if not args.animate:
        given = next(name for name in ANIMATION_OPTIONS if getattr(args, name) is not None)
        raise UsageError(f"{_flag(given)} is for --animate")
    if args.backward is None and any(getattr(args, name) is not None for name in BACKWARD_OPTIONS):
        given = next(name for name in BACKWARD_OPTIONS if getattr(args, name) is not None)
        raise UsageError(f"{_flag(given)} is for --backward")
    if args.backward is not None and args.transpose_as is not None:
        raise UsageError("--transpose-as is for the forward step-through, not --backward")
    if args.fps is not None and not 0.1 <= args.fps <= 50:
        raise UsageError(f"--fps must be between 0.1 and 50, got {args.fps:g}")
    canvas = None if args.size is None else QSize(*_size(args.size, MIN_CANVAS, MAX_CANVAS))
    cell = (0, 0) if args.cell is None else _cell(args.cell)
    for name in ("filter", "channel"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"{_flag(name)} counts from 1, got {value}")
    animation_kind(args.output)  # refuse a bad name before any work
    _app = QGuiApplication.instance() or QGuiApplication(["cnnviz"])  # fonts need a GUI application
    if args.backward is not None:
        from cnnviz.ui.arithmetic.backward_steps import session_backward_steps

        model = session_backward_steps(session, args.layer, args.backward, cell, (args.filter or 1) - 1,
                                       (args.channel or 1) - 1, args.target_class or 0)
        if not model.steps:
            raise UsageError(f"--cell {cell[0]},{cell[1]}: {model.symbol} gathers nothing (no output read this cell, "
                             "its gradient is 0): choose another cell")
    else:
        model = session_step_model(session, args.layer, args.transpose_as == "convolution")
    export_animation(model, args.output, args.fps or 2.0, canvas, args.scale or 1.0)
    return 0


def _export_code(args) -> int:
    from cnnviz.io import generate_code, load_session
    from cnnviz.io.atomic import write_atomic

    _check_names(args)
    if args.train:
        from cnnviz.io.train_codegen import generate_training_script

        source = generate_training_script(load_session(args.session), args.framework)
    else:
        source = generate_code(load_session(args.session), args.framework)
    write_atomic(Path(args.output), source.encode("utf-8"))
    return 0


# ---- cnnviz summary SESSION: the model summary in Keras's model.summary() form (no Qt) ------------
def _summary_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cnnviz summary",
                description="Print the session's model summary as Keras's model.summary() does, with each "
                            "layer's multiply-adds, receptive field and the parameters a Dense layer would need.")
    p.add_argument("session", metavar="SESSION", help="a .cnnviz.json session file")
    return p


def _summary(args) -> int:
    from cnnviz.core.summary import format_summary, summarize
    from cnnviz.io import load_session

    name = os.path.basename(args.session).removesuffix(".json").removesuffix(".cnnviz")
    print(format_summary(summarize(load_session(args.session).pipeline, name)))
    return 0


def _export_onnx(args) -> int:
    from cnnviz.io import load_session
    from cnnviz.io.onnx_export import export_onnx

    _check_names(args)
    export_onnx(load_session(args.session).pipeline, args.output)
    return 0


def _import_model(args) -> int:
    from cnnviz.io import save_session
    from cnnviz.io.model_import import import_model

    _check_names(args)
    model = import_model(args.session)
    session = model.session(args.image)
    save_session(session, args.output)
    print(model.summary())
    print(model.input_note)
    return 0


def _open_app(args) -> int:
    session = None
    if args.session is not None:
        _check_names(args)
        from cnnviz.io import load_session

        session = load_session(args.session)  # a bad file stops here, before any window
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UsageError("no display to open the window on (set DISPLAY, or use `cnnviz render` headless)")
    from cnnviz.ui.app import run

    def setup(window):
        window.file_actions.activate()  # offers work a crash left behind, then autosaves
        if session is not None:
            window.file_actions.open(os.path.abspath(args.session))

    return run(["cnnviz"] + ([QUIT_FOR_TESTS] if args.quit_after_start else []), setup)


if __name__ == "__main__":
    sys.exit(main())
