"""The command line: ``python -m coordlib COMMAND ...`` (or ``coordlib COMMAND ...``).

Each command lives in the module that implements it, as a function ``cli(argv)``; this file
only dispatches, so ``python -m coordlib train --help`` shows that command's own options.
"""
from __future__ import annotations

import importlib
import sys

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
    lines += ["", "python -m coordlib COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"coordlib: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.cli(rest) or 0)
