"""Interactive widgets that several chapters share.

Each widget is a thin ``ipywidgets.interact`` over a plotting function that is also
callable on its own, so the website (which has no kernel) shows the figure for the default
values, and the tests can call the plotting function directly.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .memory import STATE_TENSORS_PER_PARAMETER, format_bytes, mlp_memory
from .plotting import FIGSIZE_WIDE, PALETTE

MEMORY_TERMS = ("parameters", "gradients", "optimizer_state", "activations")
MEMORY_COLOURS = (PALETTE["blue"], PALETTE["sky"], PALETTE["orange"], PALETTE["vermillion"])


def plot_memory(width: int = 1024, depth: int = 3, batch_size: int = 256, n_inputs: int = 784, n_classes: int = 10):
    """Bar chart of the training memory of a ReLU MLP for SGD, momentum and Adam.

    Left: the four terms for each optimizer at this batch size. Right: the total against the
    batch size, which shows where activations overtake the fixed cost of the weights.
    """
    widths = [n_inputs] + [width] * depth + [n_classes]
    optimizers = sorted(STATE_TENSORS_PER_PARAMETER, key=STATE_TENSORS_PER_PARAMETER.get)
    fig, (ax, ax_b) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    bottoms = [0.0] * len(optimizers)
    for term, colour in zip(MEMORY_TERMS, MEMORY_COLOURS):
        values = [getattr(mlp_memory(widths, batch_size, opt), term) / 2**20 for opt in optimizers]
        ax.bar(optimizers, values, bottom=bottoms, color=colour, label=term.replace("_", " "))
        bottoms = [b + v for b, v in zip(bottoms, values)]
    for i, total in enumerate(bottoms):
        ax.annotate(format_bytes(total * 2**20), (i, total), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("MiB (float32)")
    ax.set_title(f"{depth} x {width} hidden, batch {batch_size}")
    ax.legend(loc="upper left", fontsize=8)
    batches = [2**k for k in range(0, 13)]
    for opt in optimizers:
        ax_b.plot(batches, [mlp_memory(widths, b, opt).total / 2**20 for b in batches], marker=".", label=opt)
    ax_b.axvline(batch_size, color=PALETTE["black"], lw=0.8, ls=":")
    ax_b.set_xscale("log", base=2)
    ax_b.set_yscale("log")
    ax_b.set_xlabel("mini-batch size B")
    ax_b.set_ylabel("total MiB")
    ax_b.set_title("total against batch size")
    ax_b.legend(fontsize=8)
    return fig


def memory_explorer():
    """Sliders for width, depth and batch size driving :func:`plot_memory`."""

    def draw(width, depth, batch_size):
        plot_memory(width, depth, batch_size)
        plt.show()

    return widgets.interact(
        draw,
        width=widgets.IntSlider(value=1024, min=64, max=8192, step=64, description="width", continuous_update=False),
        depth=widgets.IntSlider(value=3, min=1, max=12, description="depth", continuous_update=False),
        batch_size=widgets.SelectionSlider(
            options=[2**k for k in range(0, 13)], value=256, description="batch", continuous_update=False
        ),
    )
