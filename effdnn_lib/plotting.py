"""One plotting style for the whole course.

Colours are the Okabe-Ito palette, which stays distinguishable for the common forms of
colour blindness. Figures are small on purpose: they are committed inside the notebooks.
Call :func:`use_style` once at the top of a notebook.
"""

from __future__ import annotations

import matplotlib as mpl

#: Okabe & Ito (2008), "Color Universal Design". Names say what each colour is.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: The order in which lines take colours (yellow last: it is faint on white).
CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple", "black", "yellow")]

#: Standard figure sizes in inches: one panel, two panels side by side.
FIGSIZE = (6.0, 3.4)
FIGSIZE_WIDE = (9.0, 3.4)

STYLE = {
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "figure.figsize": FIGSIZE,
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "figure.constrained_layout.use": True,
}


def use_style() -> None:
    """Apply the course style to matplotlib (idempotent)."""
    mpl.rcParams.update(STYLE)
