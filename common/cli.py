"""The command line every lab shares, and the wrapper that runs a lab.

A lab ends with::

    if __name__ == "__main__":
        cli.run_lab(main, __doc__, add_arguments)

``run_lab`` parses the common flags plus the lab's own (``add_arguments``),
seeds every random generator, picks the device, prepares ``--out``, prints
the device line and calls ``main(args)`` under ``tf.device``. A lab that
trains with Keras passes ``run=training.Run`` too: the run is made first
(it sets up ``--strategy`` before TensorFlow computes anything) and ``main``
gets it, ``main(args, run)``, inside its scope. A ``LabError`` becomes one
line on standard error and exit status 2.
"""
import argparse
import os
import sys
from pathlib import Path

import keras
import tensorflow as tf

from common import device, notebook, paths, plotting
from common.errors import LabError

DEFAULT_SEED = 1
SMOKE_ENV = "LAB_SMOKE"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr, not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _whole_number(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (epochs, batch size, ...)."""
    return _whole_number(text, 1, "a whole number of at least 1")


def non_negative_int(text: str) -> int:
    """argparse type: a whole number of at least 0 (seeds, counts that may be 0)."""
    return _whole_number(text, 0, "a whole number of at least 0")


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0 (learning rates, ...)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def fraction(text: str) -> float:
    """argparse type: a number from 0 up to (not including) 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to below 1, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to below 1, got {text}")
    return value


def add_learning_rate(parser, default: float, what: str = "the step size") -> None:
    """The usual ``--learning-rate`` flag: a number above 0."""
    parser.add_argument("--learning-rate", type=positive_float, default=default,
                        help=f"{what} (default: {default:g})")


def add_epochs(parser, default: int, what: str = "how many epochs to train", flag: str = "--epochs") -> None:
    """The usual ``--epochs`` flag (or another count, such as ``--steps``): a whole number of at least 1."""
    parser.add_argument(flag, type=positive_int, default=default, help=f"{what} (default: {default:,})")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def build_parser(doc: str, lab_file, add_arguments=None) -> argparse.ArgumentParser:
    """The parser for one lab: its docstring as help, the common flags, then its own."""
    name = paths.lab_name(lab_file)
    parser = _Parser(
        prog=Path(lab_file).name,
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shared = parser.add_argument_group("options every lab has")
    shared.add_argument("--device", choices=device.CHOICES, default="auto",
                        help="where TensorFlow computes: auto takes a GPU when one is visible (default: auto)")
    shared.add_argument("--seed", type=non_negative_int, default=DEFAULT_SEED,
                        help=f"seed for every random generator, so runs repeat (default: {DEFAULT_SEED})")
    shared.add_argument("--smoke", action="store_true",
                        help=f"a seconds-long run with tiny settings, for checks (also on when {SMOKE_ENV}=1)")
    shared.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"folder for figures, logs and checkpoints (default: outputs/{name}/ in the checkout; "
                             f"outputs/smoke/{name}/ with --smoke)")
    shared.add_argument("--show", action="store_true",
                        help="also open the figures in windows at the end (needs a display)")
    if add_arguments is not None:
        add_arguments(parser.add_argument_group("options of this lab"))
    return parser


def parse_args(doc: str, argv=None, add_arguments=None, lab_file=None) -> argparse.Namespace:
    """Parse ``argv`` (default: the command line) into the lab's ``args``.

    ``--smoke`` is also on when ``LAB_SMOKE=1``, and ``--out`` is filled in
    with its default folder. Bad values exit with status 2 and one line on stderr.
    """
    lab_file = lab_file or sys.argv[0]
    parser = build_parser(doc, lab_file, add_arguments)
    args = parser.parse_args(argv)
    args.smoke = args.smoke or _env_flag(SMOKE_ENV)
    if args.out is None:
        # A smoke run gets a folder of its own, so it never replaces a real run's model or saved state.
        name = paths.lab_name(lab_file)
        args.out = paths.OUTPUTS_DIR / "smoke" / name if args.smoke else paths.OUTPUTS_DIR / name
    return args


def execute(main, args: argparse.Namespace, run=None):
    """Prepare everything ``main`` relies on, run it on the chosen device, return its result.

    ``run``: for a lab that trains with Keras, the class of its training run
    (``training.Run``), made here and passed to ``main`` as its second argument.
    """
    device_name = device.resolve(args.device)
    training_run = None
    if run is not None:
        # Before anything else touches TensorFlow: strategies and split CPUs must come first.
        training_run = run(args, device_name)
        scope, notes, out = training_run.scope, training_run.notes, training_run.out
    else:
        scope, notes, out = tf.device(device_name), [], args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LabError(f"cannot create the output folder {out} ({error.strerror}); "
                       "choose another with --out DIR") from None
    keras.utils.set_random_seed(args.seed)
    plotting.configure(show=args.show)
    print(device.describe(args.device, device_name), flush=True)
    for line in notes:
        print(line, flush=True)
    with scope:
        result = main(args) if training_run is None else main(args, training_run)
    plotting.show()
    return result


def run_lab(main, doc: str, add_arguments=None, run=None, argv=None):
    """Run a lab as a program: parse, execute (with a training ``run``), and exit with the right status.

    In a notebook (after ``notebook.start``) it runs with the defaults (or
    ``argv``) and returns ``main``'s result instead of exiting.
    """
    if notebook.lab_file() is not None:
        return _run_in_notebook(main, doc, add_arguments, run, argv)
    # The file that defines main: the lab, however it was started.
    lab_file = getattr(getattr(main, "__code__", None), "co_filename", None) or sys.argv[0]
    for stream in (sys.stdout, sys.stderr):
        # A file name in Chinese printed to a Windows console or log whose
        # encoding cannot spell it comes out escaped instead of failing.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = parse_args(doc, argv, add_arguments, lab_file)
        execute(main, args, run)
    except LabError as error:
        print(f"{Path(lab_file).name}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (as with `| head`); stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    sys.exit(0)


def _run_in_notebook(main, doc, add_arguments, run, argv):
    lab_file = notebook.lab_file()
    try:
        args = parse_args(doc or "", list(argv or []), add_arguments, lab_file)
        return execute(main, args, run)
    except LabError as error:
        print(f"{lab_file.name}: error: {error}", file=sys.stderr)
    except SystemExit:
        pass  # argparse has said what was wrong with argv, in one line.
    return None
