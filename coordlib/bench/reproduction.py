"""Benchmark section ``reproduce``: how long each notebook of the manifest took in its last run."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..pipeline.reproduce import load_manifest
from .common import REPO_DIR, SectionResult, fmt, row, skipped_row


# ---- 6. the reproductions -----------------------------------------------------------------------
def reproduce_section(root: Path = REPO_DIR, profiles=("smoke", "paper")) -> SectionResult:
    """Seconds of each profile's reproduction: the sum of ``seconds`` over its stamps.

    Stamps live in ``build/<profile>/stamps/*.json``, one per notebook, written when the notebook
    last ran (a cached notebook keeps its earlier stamp).
    """
    try:

        expected = len(load_manifest())
    except Exception:              # no manifest yet: count what is there
        expected = None
    records, rows, totals = [], [], {}
    for profile in profiles:
        folder = Path(root) / "build" / profile / "stamps"
        stamps = sorted(folder.glob("*.json")) if folder.is_dir() else []
        for path in stamps:
            try:
                record = json.loads(path.read_text())
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "seconds" in record:
                records.append({"profile": profile, "notebook": record.get("notebook", path.stem),
                                "stamp": path.stem, "seconds": float(record["seconds"])})
        found = [r for r in records if r["profile"] == profile]
        if not found:
            rows.append(skipped_row("reproduce", f"no stamps with 'seconds' in {folder} "
                                    f"(run: python -m coordlib reproduce --profile {profile})",
                                    f"time of the {profile} reproduction: not available yet"))
            continue
        totals[profile] = sum(r["seconds"] for r in found)
        of = f" of {expected}" if expected is not None else ""
        rows.append(row("reproduce", f"time of the {profile} reproduction ({len(found)}{of} notebooks stamped)",
                        fmt(totals[profile], "s"), "-", float("nan"), "none (reported)", "n/a",
                        f"sum of 'seconds' in {folder.relative_to(root) if folder.is_relative_to(root) else folder}; "
                        "each stamp is the notebook's last regeneration"))
    if len(totals) == 2 and all(totals.values()):
        rows.append(row("reproduce", "paper reproduction vs smoke reproduction",
                        fmt(totals["paper"], "s"), fmt(totals["smoke"], "s"),
                        totals["paper"] / totals["smoke"], "none (reported)", "n/a",
                        "ratio = paper seconds / smoke seconds"))
    return SectionResult(pd.DataFrame(records, columns=["profile", "notebook", "stamp", "seconds"]),
                         rows)
