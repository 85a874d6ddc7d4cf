"""Counts over the bad-input corpus of ``tests/test_bad_inputs.py``: tried, clear error (or
handled right), crash (a traceback or a misleading message) and silent wrong (accepted, a
wrong number, lost data, code run).

    .venv/bin/python tests/bad_inputs_census.py          # the counts
    .venv/bin/python tests/bad_inputs_census.py -v       # and one line per case
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_bad_inputs as corpus  # noqa: E402  (the corpus lives beside this file)


def outcome(case: corpus.Case) -> tuple[str, str]:
    """``("clear" | "crash" | "silent", detail)`` of one case, run in a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="coordlib-census-") as tmp, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            case.probe(Path(tmp))
        except corpus.Silent as exc:
            return "silent", str(exc)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit included: a crash of the case
            return "crash", "".join(traceback.format_exception_only(exc)).strip()
    return "clear", ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    args = parser.parse_args(argv)
    counts: Counter = Counter()
    for case in corpus.CASES:
        if not case.needs():
            counts["not applicable"] += 1
            continue
        kind, detail = outcome(case)
        counts[kind] += 1
        if args.verbose:
            print(f"{kind:<7} {case.id}  {detail[:160]}")
    tried = counts["clear"] + counts["crash"] + counts["silent"]
    print(f"tried {tried}: clear error or handled {counts['clear']}, crash {counts['crash']}, "
          f"silent wrong {counts['silent']}"
          + (f" ({counts['not applicable']} not applicable here)"
             if counts["not applicable"] else ""))
    return 0 if tried == counts["clear"] else 1


if __name__ == "__main__":
    sys.exit(main())
