"""The ``licodec`` command: parse arguments, call the Python API, print, set the exit code.

One module per group of commands (:mod:`~licodec.cli.codec`, :mod:`~licodec.cli.jpeg`,
:mod:`~licodec.cli.evaluate`, :mod:`~licodec.cli.train`), over the shared argument types
(:mod:`~licodec.cli.args`) and file handling (:mod:`~licodec.cli.files`).

Exit codes: 0 success; 1 a user error (bad file, missing input, existing output),
printed as one line on stderr (``--debug`` shows the traceback); 2 a usage error;
130 interrupted; 141 the reader of standard output went away.
"""

from __future__ import annotations

import argparse
import os
import sys

from licodec import __version__
from licodec.api import NEEDS_TORCH
from licodec.cli import codec, evaluate, jpeg, train, video
from licodec.errors import LicodecError

RENAMED = {"train-tables": ["train", "tables"], "train-prefilter": ["train", "prefilter"], "train-postfilter": ["train", "postfilter"]}
"""Commands of licodec 0.4 that moved, to what they are now; the old names work through licodec 0.5."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licodec", description="Learned image compression.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"licodec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (codec, evaluate, jpeg, train, video):
        group.add_commands(sub)
    return parser


def with_new_names(argv: list[str]) -> list[str]:
    """``argv`` with licodec 0.4's command names spelled as now, saying so on stderr.

    ``train-tables`` is ``train tables`` (and so for the filters); ``train DATA`` is ``train model DATA``.
    """
    position = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if position is None:
        return argv
    command = argv[position]
    if command in RENAMED:
        new = RENAMED[command]
    elif command == "train" and position + 1 < len(argv) and argv[position + 1] not in (*train.TRAINERS, "-h", "--help"):
        new = ["train", "model"]
    else:
        return argv
    print(f"licodec: note: '{command}' is now 'licodec {' '.join(new)}'; the old form goes in licodec 0.6", file=sys.stderr)
    return [*argv[:position], *new, *argv[position + 1 :]]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_new_names(sys.argv[1:] if argv is None else list(argv)))
    try:
        return args.func(args)
    except LicodecError as exc:
        if args.debug:
            raise
        print(f"licodec: error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # a command of the torch extra in a decode-only install
        if args.debug or exc.name not in ("torch", "pytorch_msssim"):
            raise
        print(f"licodec: error: {NEEDS_TORCH}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("licodec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`licodec models | head -1`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's last flush cannot fail
        return 141  # 128 + SIGPIPE, what a shell reports for a writer the pipe ended
    except MemoryError:
        if args.debug:
            raise
        print("licodec: error: out of memory", file=sys.stderr)
        return 1
