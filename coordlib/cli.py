"""The command line: ``python -m coordlib COMMAND ...`` (or ``coordlib COMMAND ...``).

Each command lives in the module that implements it, as a function ``cli(argv)``; this file
only dispatches, so ``python -m coordlib train --help`` shows that command's own options.

An error reaches the shell as one line on stderr: exit code 2 for bad input (a ValueError such
as ScenarioError or ConfigError, a missing or unreadable file, a checkpoint that does not fit),
1 for anything else; ``--debug`` (anywhere on the line) or ``COORDLIB_DEBUG=1`` shows the
traceback instead.
"""
from __future__ import annotations

import importlib
import os
import sys

from . import __version__

COMMANDS = {
    "evaluate": ("coordlib.policies.firms", "evaluate a heuristic policy on a scenario"),
    "train": ("coordlib.learning.training", "train a learner configuration (MTMA and its baselines)"),
    "dp": ("coordlib.exact.dp", "solve a small scenario exactly (relative value iteration)"),
    "sweep": ("coordlib.pipeline.sweep", "run a grid of parameters x seeds, locally or on Dask"),
    "reproduce": ("coordlib.pipeline.reproduce", "regenerate the tables and figures from the notebooks"),
    "bench": ("coordlib.bench.report", "measure speed side by side with the alternatives"),
    "scenarios": ("coordlib.model.scenarios", "list the shipped scenarios"),
}


def usage() -> str:
    lines = ["usage: python -m coordlib COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {doc}" for name, (_, doc) in COMMANDS.items()]
    lines += ["", "python -m coordlib COMMAND --help shows a command's options; "
              "python -m coordlib --version the version."]
    return "\n".join(lines)


def _is_bad_input(exc: BaseException) -> bool:
    """Whether ``exc`` says the input was wrong (exit code 2) rather than that the code failed."""
    return (isinstance(exc, (ValueError, OSError))
            or type(exc).__module__.startswith("coordlib") and type(exc).__name__.endswith("Error"))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("COORDLIB_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"coordlib {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"coordlib: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[name][0])
        return int(module.cli(rest) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        # every command writes its files whole, so what it finished is kept
        print(f"\ncoordlib {name}: interrupted (Ctrl-C); every file it finished is kept",
              file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, BrokenPipeError):    # output piped into `head`: nothing to say
            return 1
        bad_input = _is_bad_input(exc)
        hint = "" if bad_input else " (an internal error: --debug shows the traceback)"
        print(f"coordlib {name}: {_one_line(exc)}{hint}", file=sys.stderr)
        return 2 if bad_input else 1
