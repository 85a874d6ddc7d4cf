"""Tables and figures: how every experiment writes what a reader sees (MODEL.md section 7).

Tables go out as CSV (for code), Markdown (for the README) and LaTeX (for a paper); figures
as PNG and PDF. Intervals are printed as ``mean [lo, hi]``.

Importing this module leaves matplotlib's backend alone: in a notebook (Jupyter, papermill) the
kernel's inline backend shows every figure under the cell that draws it, so the executed
notebooks carry their images; elsewhere matplotlib picks a non-interactive backend when there
is no display.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..common.files import atomic_write, atomic_write_text


def theme() -> None:
    """The house style of every figure."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def save_table(frame: pd.DataFrame, folder, name: str, float_format: str = "{:.3f}") -> dict:
    """Write ``frame`` as ``name``.csv, .md and .tex into ``folder``; return the three paths."""
    folder = Path(folder)
    paths = {ext: folder / f"{name}.{ext}" for ext in ("csv", "md", "tex")}
    atomic_write(paths["csv"], lambda handle: frame.to_csv(handle, index=False))
    shown = frame.map(lambda v: float_format.format(v) if isinstance(v, float) else v)
    atomic_write_text(paths["md"], shown.to_markdown(index=False) + "\n")
    atomic_write_text(paths["tex"], shown.to_latex(index=False, escape=True))
    return paths


def save_figure(fig, folder, name: str) -> dict:
    """Write ``fig`` as ``name``.png (150 dpi) and .pdf into ``folder``; return the paths."""
    folder = Path(folder)
    paths = {ext: folder / f"{name}.{ext}" for ext in ("png", "pdf")}
    atomic_write(paths["png"], lambda handle: fig.savefig(handle, format="png", dpi=150,
                                                          bbox_inches="tight"), binary=True)
    atomic_write(paths["pdf"], lambda handle: fig.savefig(
        handle, format="pdf", bbox_inches="tight", metadata={"CreationDate": None}), binary=True)
    return paths


def with_interval(frame: pd.DataFrame, column: str = "profit", digits: int = 2) -> pd.Series:
    """``mean [lo, hi]`` strings from the columns ``column``, ``column_lo``, ``column_hi``."""
    f = f"{{:.{digits}f}}"
    return frame.apply(lambda r: f"{f.format(r[column])} [{f.format(r[column + '_lo'])}, "
                                 f"{f.format(r[column + '_hi'])}]", axis=1)


def interval_plot(frame: pd.DataFrame, x: str, y: str = "profit", hue: str | None = None,
                  ax=None, **kwargs):
    """Point estimates with their confidence intervals (columns ``y``, ``y_lo``, ``y_hi``)."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    groups = frame.groupby(hue, sort=False) if hue else [(None, frame)]
    offsets = _dodge(len(groups) if hue else 1)
    categories = list(dict.fromkeys(frame[x]))
    palette = sns.color_palette(n_colors=max(1, len(offsets)))
    for (label, g), dx, color in zip(groups, offsets, palette):
        pos = [categories.index(v) + dx for v in g[x]]
        ax.errorbar(pos, g[y], yerr=[g[y] - g[f"{y}_lo"], g[f"{y}_hi"] - g[y]], fmt="o",
                    capsize=3, color=color, label=label, **kwargs)
    ax.set_xticks(range(len(categories)), categories)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue:
        ax.legend(title=hue, fontsize="small")
    return ax


def _dodge(n: int, width: float = 0.5) -> list[float]:
    if n == 1:
        return [0.0]
    return [-width / 2 + width * i / (n - 1) for i in range(n)]
