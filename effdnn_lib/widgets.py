"""Interactive widgets that several chapters share.

Each widget is a thin ``ipywidgets.interact`` over a plotting function that is also
callable on its own, so the website (which has no kernel) shows the figure for the default
values, and the tests can call the plotting function directly.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .memory import STATE_TENSORS_PER_PARAMETER, format_bytes, mlp_activation_bytes, mlp_memory, mlp_parameter_count
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


# ---- chapter 11: the memory and time of one training step ---------------------------------------


def predict_step(width: int, depth: int, batch_size: int, precision: str, segments: int, k: int,
                 throughput_flops: float, bandwidth_bytes: float, n_inputs: int = 64, n_classes: int = 10) -> dict:
    """Predicted memory terms (bytes) and step time (seconds) of an Adam step on a ReLU MLP.

    Memory: chapter 0's parameters, gradients and Adam state, and as activations chapter 11's
    ``held_after_forward`` (:func:`~effdnn_lib.memory_saving.mlp_checkpoint_memory` for ``segments > 1``)
    of one micro-batch of ``B/k``; ``precision="bfloat16"`` counts the activations at 2 bytes a number
    and adds a 16-bit copy of the weights (what autocast saves), an estimate. Time: ``6 B P`` FLOPs
    (forward 2, backward 4; checkpointing adds a forward, 2) at ``throughput_flops``, plus the Adam step's
    28 bytes per parameter at ``bandwidth_bytes``."""
    from .hardware import ADAM_BYTES_PER_PARAMETER
    from .memory_saving import mlp_checkpoint_memory

    widths = [n_inputs] + [width] * depth + [n_classes]
    p = mlp_parameter_count(widths)
    micro = max(1, batch_size // k)
    n = 2 if precision == "bfloat16" else 4
    held = mlp_checkpoint_memory(widths, micro, segments, n).held_after_forward if segments > 1 else mlp_activation_bytes(widths, micro, n) + n
    if precision == "bfloat16":
        held += 2 * p
    flops = 2 * batch_size * p * (3 + (1 if segments > 1 else 0))
    return {
        "memory": {"parameters": 4 * p, "gradients": 4 * p, "optimizer_state": 8 * p, "activations": held},
        "seconds": flops / throughput_flops + ADAM_BYTES_PER_PARAMETER * p / bandwidth_bytes,
    }


def measure_step(width: int, depth: int, batch_size: int, precision: str, segments: int, k: int,
                 n_inputs: int = 64, n_classes: int = 10, repeats: int = 3) -> dict:
    """Measured ``held_after_forward`` (bytes, :func:`~effdnn_lib.memory_saving.measure_step_memory`) and
    median seconds of a whole Adam step for the configuration of :func:`predict_step`."""
    import statistics
    import time

    import torch

    from .memory import make_mlp
    from .memory_saving import accumulate_gradients, checkpointed_forward, measure_step_memory

    torch.manual_seed(0)
    widths = [n_inputs] + [width] * depth + [n_classes]
    model = make_mlp(widths)
    x, y = torch.randn(batch_size, n_inputs), torch.randint(0, n_classes, (batch_size,))
    dtype = torch.bfloat16 if precision == "bfloat16" else None
    seg = segments if segments > 1 else None
    mem = measure_step_memory(model, x, y, accumulation_steps=k, segments=seg, autocast_dtype=dtype)
    opt = torch.optim.Adam(model.parameters())
    forward = (lambda m, xb: checkpointed_forward(m, xb, seg)) if seg else (lambda m, xb: m(xb))

    def loss_fn(out_or_model, yb):
        return torch.nn.functional.cross_entropy(out_or_model, yb)

    class _Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, xb):
            with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                return forward(model, xb)

    wrapped = _Wrapped()
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        accumulate_gradients(wrapped, loss_fn, x, y, k)
        opt.step()
        times.append(time.perf_counter() - t0)
    return {"activations": mem.held_after_forward, "seconds": statistics.median(times[1:])}


def plot_step_budget(prediction: dict, measured: dict | None = None, title: str = ""):
    """Left: the predicted memory bar (four terms) beside the measured activations. Right: predicted
    and measured step time."""
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    bottom = 0.0
    for term, colour in zip(MEMORY_TERMS, MEMORY_COLOURS):
        v = prediction["memory"][term] / 2**20
        ax.bar(["predicted"], [v], bottom=[bottom], color=colour, label=term.replace("_", " "))
        bottom += v
    if measured is not None:
        fixed = sum(prediction["memory"][t] for t in MEMORY_TERMS[:3]) / 2**20
        ax.bar(["measured"], [fixed], color=PALETTE["black"], alpha=0.25, label="fixed part (as predicted)")
        ax.bar(["measured"], [measured["activations"] / 2**20], bottom=[fixed], color=PALETTE["vermillion"], hatch="//")
    ax.set_ylabel("MiB")
    ax.set_title(title or "memory of one step")
    ax.legend(fontsize=7, loc="upper right")
    labels, values = ["predicted"], [prediction["seconds"] * 1e3]
    if measured is not None:
        labels.append("measured")
        values.append(measured["seconds"] * 1e3)
    ax_t.bar(labels, values, color=[PALETTE["blue"], PALETTE["orange"]][: len(values)])
    ax_t.set_ylabel("ms per step")
    ax_t.set_title("time of one step")
    return fig


def step_budget_explorer(throughput_flops: float, bandwidth_bytes: float):
    """Sliders for model size, batch, precision, checkpointing and accumulation; each change predicts
    the step's memory and time and then measures them on this machine."""

    def draw(width, depth, batch_size, precision, segments, k):
        segments = min(segments, 2 * depth + 1)
        pred = predict_step(width, depth, batch_size, precision, segments, k, throughput_flops, bandwidth_bytes)
        meas = measure_step(width, depth, batch_size, precision, segments, k)
        plot_step_budget(pred, meas, f"{depth} x {width}, B={batch_size}, {precision}, s={segments}, k={k}")
        plt.show()

    return widgets.interact(
        draw,
        width=widgets.SelectionSlider(options=[64, 128, 256, 512, 1024], value=256, description="width", continuous_update=False),
        depth=widgets.IntSlider(value=4, min=1, max=16, description="depth", continuous_update=False),
        batch_size=widgets.SelectionSlider(options=[2**i for i in range(4, 12)], value=256, description="batch", continuous_update=False),
        precision=widgets.Dropdown(options=["float32", "bfloat16"], value="float32", description="precision"),
        segments=widgets.IntSlider(value=1, min=1, max=8, description="segments", continuous_update=False),
        k=widgets.SelectionSlider(options=[1, 2, 4, 8], value=1, description="accumulate", continuous_update=False),
    )
