"""The help formatter of every command line (``python -m coordlib COMMAND --help``)."""
from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path
from typing import Callable


class HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default (when it has one: not None, not a bare flag), wraps a
    one-paragraph description but keeps the layout of one written in lines (an epilog
    table), and wraps each line of an option's help on its own, so a help text can hold a list
    (lines starting with two spaces hang)."""

    def _fill_text(self, text, width, indent):
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default is None or default is False
                or default is argparse.SUPPRESS or not action.option_strings
                or (isinstance(default, (str, list, tuple)) and not default)):
            return text
        return f"{text} (default: %(default)s)"

    def _split_lines(self, text, width):
        return [wrapped for line in text.splitlines()
                for wrapped in (textwrap.wrap(line, width, break_on_hyphens=False,
                                              subsequent_indent="    " if line.startswith("  ")
                                              else "") or [""])]


_ROLE = re.compile(r":[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


def plain(text: str) -> str:
    """A docstring's reStructuredText inline markup as plain text for ``--help``:
    ````code```` -> code, ``:func:`~a.b.name``` -> name, ``:mod:`a.b``` -> a.b."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if m.group(0).count("~")
                     else m.group(1), text)
    return text.replace("``", "")


def folder_build_command(argv, prog: str, description: str, default_out: Path,
                         build: Callable[[Path], list], name: str, what: str,
                         errors: tuple = ()) -> int:
    """The command line of a builder that writes one folder of HTML (``make docs``, ``make
    site``): ``--out FOLDER``; each problem ``build`` returns goes to stderr as ``name: problem``
    and makes the exit status 1; an exception of ``errors`` is printed on one line (status 2)."""
    parser = argparse.ArgumentParser(prog=prog, formatter_class=HelpFormatter,
                                     description=description)
    parser.add_argument("--out", type=Path, default=default_out, help="output folder")
    args = parser.parse_args(argv)
    try:
        problems = build(args.out)
    except errors as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    for line in problems:
        print(f"{name}: {line}", file=sys.stderr)
    print(f"{what}: {args.out / 'index.html'}"
          + (f" ({len(problems)} problems)" if problems else ""))
    return 1 if problems else 0
