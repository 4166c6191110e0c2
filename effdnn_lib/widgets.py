"""Interactive widgets: one call that is live in a kernel and still responds on the website.

:func:`explorer` is what every chapter's widget cell calls. It takes a drawing function (which
returns a matplotlib figure and may print) and, for each argument, a :class:`Choice`: the values
the website precomputes, the default, and optionally the continuous control a kernel offers.

* **Live** (a student running the notebook; the default): an ``ipywidgets.interactive`` whose
  controls call the drawing function in the kernel, as ``interact`` does.
* **Precomputed** (``EFFDNN_WIDGETS=precomputed``, which ``tools/execute_notebooks.py`` and
  ``make book`` set, so the committed notebooks and the website hold it): the function is drawn
  once for every combination of the choices' values, each view a small PNG with alt text, kept
  in nested ``ipywidgets.Stack`` widgets. Each control's ``index`` is linked in the browser
  (``jsdlink``) to the ``selected_index`` of the stacks of its level, so moving a control swaps
  the view with no kernel and no network: on the website, and in JupyterLab before any cell runs.

The plotting functions stay callable on their own, so the tests call them directly.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .memory import STATE_TENSORS_PER_PARAMETER, format_bytes, mlp_activation_bytes, mlp_memory, mlp_parameter_count
from .plotting import FIGSIZE_WIDE, PALETTE

#: The environment variable that chooses how :func:`explorer` renders: ``live`` or ``precomputed``.
MODE_VAR = "EFFDNN_WIDGETS"
MODES = ("live", "precomputed")
#: Most views one explorer may precompute (each is a PNG inside the page).
MAX_VIEWS = 48
#: Resolution of the precomputed views (dots per inch of the course's figure sizes).
VIEW_DPI = 64
#: Colours a precomputed view keeps. A palette PNG is about four times smaller than RGBA. White and
#: the course's eight colours are always in the palette, exactly (an adaptive quantizer alone merged
#: blue with green and orange with vermillion on a five-line figure; tests/test_explorer.py checks).
VIEW_COLOURS = 64


def widget_mode() -> str:
    """``live`` unless ``EFFDNN_WIDGETS`` says ``precomputed``."""
    mode = os.environ.get(MODE_VAR, "live").strip().lower() or "live"
    if mode not in MODES:
        raise ValueError(f"{MODE_VAR} must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Choice:
    """One argument of an explorer's drawing function.

    ``values``: the settings the website precomputes (only the ones that teach something);
    ``value``: the default, one of ``values``; ``description``: the control's label;
    ``live``: the control a kernel offers instead (e.g. a continuous ``FloatSlider``), by default
    a slider (numbers) or buttons (anything else) over ``values``; ``labels``: how each value is
    shown (default ``f"{v:g}"`` for floats, ``on``/``off`` for booleans, ``str`` otherwise).
    """

    values: Sequence[Any]
    value: Any
    description: str
    live: widgets.ValueWidget | None = None
    labels: Sequence[str] | None = None

    def __post_init__(self):
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Sequence):
            raise TypeError(f"values must be a sequence of settings, got {type(self.values).__name__}")
        if len(self.values) == 0:
            raise ValueError("values must hold at least one setting")
        if self.value not in list(self.values):
            raise ValueError(f"value {self.value!r} is not one of values {list(self.values)!r}")
        if self.labels is not None and len(self.labels) != len(self.values):
            raise ValueError(f"labels must name each of the {len(self.values)} values, got {len(self.labels)}")
        if not isinstance(self.description, str) or not self.description:
            raise ValueError("description must be a non-empty string")
        if self.live is not None and not isinstance(self.live, widgets.ValueWidget):
            raise TypeError(f"live must be an ipywidgets control (a ValueWidget), got {type(self.live).__name__}")

    @property
    def shown(self) -> list[str]:
        return list(self.labels) if self.labels is not None else [_label(v) for v in self.values]

    @property
    def index(self) -> int:
        return list(self.values).index(self.value)

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)

    def live_control(self) -> widgets.ValueWidget:
        """The kernel's control when no ``live`` one is given: the same settings, passed as values."""
        options = list(zip(self.shown, self.values))
        if self.numeric and len(self.values) > 1:
            return widgets.SelectionSlider(options=options, value=self.value, description=self.description, continuous_update=False)
        return widgets.ToggleButtons(options=options, value=self.value, description=self.description)

    def grid_control(self, continuous_update: bool) -> widgets.ValueWidget:
        """A control over ``values`` whose ``index`` says which one is chosen (in the browser)."""
        if self.numeric and len(self.values) > 1:
            return widgets.SelectionSlider(options=self.shown, index=self.index, description=self.description,
                                           continuous_update=continuous_update,
                                           style={"description_width": "initial"})
        return widgets.ToggleButtons(options=self.shown, index=self.index, description=self.description,
                                     style={"description_width": "initial", "button_width": "auto"})


def view_key(choices: dict[str, Choice], indices: Sequence[int]) -> str:
    """How a precomputed view names its setting, e.g. ``kappa = 100 | lr x L = 3.3``: each control's
    description and shown value, in order (what the browser test reads off the controls)."""
    return " | ".join(f"{c.description} = {c.shown[i]}" for c, i in zip(choices.values(), indices))


def figure_png(fig, dpi: int = VIEW_DPI, colours: int = VIEW_COLOURS) -> bytes:
    """The figure as a small, opaque palette PNG (white background), and close the figure."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    # cropped to the drawing as the notebook's inline figures are (bbox_inches="tight"): no cut labels
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    # the palette: white, the course's colours exactly, and what an adaptive quantizer picks for the rest;
    # each colour of the figure then takes its nearest entry (exact matches stay exact)
    exact = [(255, 255, 255)] + [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in PALETTE.values()]
    adaptive = image.quantize(colors=colours - len(exact), method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    rgb = adaptive.getpalette()[: 3 * len(adaptive.getcolors())]
    entries = np.array(exact + [tuple(rgb[i:i + 3]) for i in range(0, len(rgb), 3)], dtype=np.int32)
    pixels = np.asarray(image, dtype=np.int32)
    keys, inverse = np.unique((pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]).ravel(), return_inverse=True)
    colours_used = np.stack([keys >> 16, keys >> 8 & 255, keys & 255], axis=1)
    nearest = ((colours_used[:, None, :] - entries[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    indexed = Image.fromarray(nearest[inverse.ravel()].reshape(pixels.shape[:2]).astype(np.uint8), mode="P")
    indexed.putpalette(entries.astype(np.uint8).ravel().tolist())
    out = io.BytesIO()
    indexed.save(out, format="png", optimize=True)
    return out.getvalue()


def _draw_view(draw: Callable, kwargs: dict, alt: str, key: str) -> widgets.HTML:
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        fig = draw(**kwargs)
    if fig is None or not hasattr(fig, "savefig"):
        raise TypeError(f"draw must return a matplotlib figure, got {type(fig).__name__} for {key}")
    png = base64.b64encode(figure_png(fig)).decode("ascii")
    printed = text.getvalue().strip()
    body = f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}" style="max-width:100%;height:auto">'
    if printed:
        body += f'<pre class="effdnn-view-text">{html.escape(printed)}</pre>'
    return widgets.HTML(f'<div class="effdnn-view" data-view="{html.escape(key)}">{body}</div>')


def explorer(draw: Callable, alt: str | Callable[..., str], *, mode: str | None = None, **choices: Choice) -> widgets.Widget:
    """An interactive figure: ``draw(**settings)`` returns a matplotlib figure (and may print).

    ``alt`` says what a view shows, for readers who cannot see it: a format string over the
    shown labels (``"... for kappa = {kappa}"``) or a function of the settings. Each keyword is a
    :class:`Choice`. In a kernel (``mode="live"``, the default, see :func:`widget_mode`) this is
    ``ipywidgets.interactive``; in ``mode="precomputed"`` every combination of the choices' values
    is drawn once and the controls swap the views in the browser. Returns the widget (the last
    line of a cell displays it).
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if not isinstance(alt, str) and not callable(alt):
        raise TypeError(f"alt must be a format string or a function of the settings, got {type(alt).__name__}")
    if not choices:
        raise ValueError("explorer needs at least one Choice")
    for name, choice in choices.items():
        if not isinstance(choice, Choice):
            raise TypeError(f"{name} must be a Choice, got {type(choice).__name__}")
    mode = widget_mode() if mode is None else mode
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "live":
        return _live(draw, choices)
    return _precomputed(draw, alt, choices)


def _live(draw: Callable, choices: dict[str, Choice]) -> widgets.Widget:
    def show(**kwargs):
        fig = draw(**kwargs)
        if fig is not None:
            plt.show()

    controls = {name: choice.live if choice.live is not None else choice.live_control() for name, choice in choices.items()}
    return widgets.interactive(show, **controls)


def _precomputed(draw: Callable, alt: str | Callable[..., str], choices: dict[str, Choice]) -> widgets.Widget:
    from .progress import progress

    for choice in choices.values():  # the kernel's controls are not used here: keep them out of the saved state
        if choice.live is not None:
            choice.live.close()
    fixed = {name: c.value for name, c in choices.items() if len(c.values) == 1}  # no control: nothing to choose
    choices = {name: c for name, c in choices.items() if len(c.values) > 1}
    if not choices:
        raise ValueError("a precomputed explorer needs a Choice with at least two values")
    sizes = [len(c.values) for c in choices.values()]
    n_views = math.prod(sizes)
    if n_views > MAX_VIEWS:  # refused before drawing anything
        raise ValueError(f"{' x '.join(map(str, sizes))} = {n_views} views exceed the {MAX_VIEWS} one explorer may "
                         f"precompute: keep only the values that teach something")
    names = list(choices)
    views = {}
    for indices in progress(list(itertools.product(*(range(n) for n in sizes))), desc="precomputing views"):
        kwargs = fixed | {name: choices[name].values[i] for name, i in zip(names, indices)}
        shown = {name: _label(v) for name, v in fixed.items()} | {name: choices[name].shown[i] for name, i in zip(names, indices)}
        text = alt(**kwargs) if callable(alt) else alt.format(**shown)
        key = view_key(choices, indices)
        views[indices] = _draw_view(draw, kwargs, text, key)
    controls = [c.grid_control(continuous_update=True) for c in choices.values()]

    def stack(prefix: tuple[int, ...]) -> widgets.Widget:
        level = len(prefix)
        if level == len(names):
            return views[prefix]
        node = widgets.Stack([stack(prefix + (i,)) for i in range(sizes[level])], selected_index=controls[level].index)
        widgets.jsdlink((controls[level], "index"), (node, "selected_index"))
        return node

    note = widgets.HTML(f'<p class="effdnn-explorer-note">{n_views} precomputed views: move a control to switch '
                        f'between them (no kernel needed). Run the notebook for the live version.</p>')
    return widgets.VBox([note, *controls, stack(())], _dom_classes=("effdnn-explorer",))


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
    """Width, depth and batch size driving :func:`plot_memory`: an :func:`explorer` whose website
    views cover widths 512, 1024 and 2048, depths 3 and 6 and batches 16, 256 and 4096 (18 views);
    run in a kernel, the sliders are continuous."""

    def draw(width, depth, batch_size):
        fig = plot_memory(width, depth, batch_size)
        bars = fig.axes[0]
        bars.set_ylim(0, bars.get_ylim()[1] * 1.35)  # headroom: the legend must not hide a bar's total
        return fig

    return explorer(
        draw,
        alt=("Left: stacked bars of the training memory (parameters, gradients, optimizer state, activations) "
             "of SGD, momentum and Adam for a ReLU MLP with {depth} hidden layers of width {width} at batch size "
             "{batch_size}, each bar labelled with its total. Right: the total memory of each optimizer against "
             "the batch size, both axes logarithmic, with the chosen batch size marked by a dotted line."),
        width=Choice([512, 1024, 2048], 1024, "width",
                     live=widgets.IntSlider(value=1024, min=64, max=8192, step=64, description="width", continuous_update=False)),
        depth=Choice([3, 6], 3, "depth",
                     live=widgets.IntSlider(value=3, min=1, max=12, description="depth", continuous_update=False)),
        batch_size=Choice([16, 256, 4096], 256, "batch",
                          live=widgets.SelectionSlider(options=[2**k for k in range(0, 13)], value=256, description="batch",
                                                       continuous_update=False)),
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
    """An :func:`explorer` of one Adam step: model size, batch, precision, checkpointing and accumulation.

    In a kernel each change predicts the step's memory and time and then measures both on this
    machine (untick ``measure`` for the prediction alone). The website's precomputed views show only
    what does not depend on the machine: the predicted memory, and the step's work in FLOPs (forward,
    backward and the recomputation checkpointing adds) instead of a time."""

    def work_panel(ax, width, depth, batch_size, segments):
        p = mlp_parameter_count([64] + [width] * depth + [10])  # predict_step's network
        parts = [("forward", 2, PALETTE["blue"]), ("backward", 4, PALETTE["sky"]),
                 ("recomputed forward", 2 if segments > 1 else 0, PALETTE["orange"])]
        bottom = 0.0
        for name, flops_per_example_and_parameter, colour in parts:
            v = flops_per_example_and_parameter * batch_size * p / 1e9
            ax.bar(["predicted"], [v], bottom=[bottom], color=colour, label=name)
            bottom += v
        ax.set_ylabel("GFLOP per step")
        ax.set_title("work of one step (its time: run the notebook)")
        ax.legend(fontsize=7, loc="upper right")

    def draw(width, depth, batch_size, precision, segments, k, measure):
        segments = min(segments, 2 * depth + 1)
        pred = predict_step(width, depth, batch_size, precision, segments, k, throughput_flops, bandwidth_bytes)
        title = f"{depth} x {width}, B={batch_size}, {precision}, s={segments}, k={k}"
        if measure:
            return plot_step_budget(pred, measure_step(width, depth, batch_size, precision, segments, k), title)
        fig = plot_step_budget(pred, None, title)
        fig.axes[1].clear()  # the predicted time depends on this machine's rates: show the work instead
        work_panel(fig.axes[1], width, depth, batch_size, segments)
        return fig

    def slider(options, value, description):
        return widgets.SelectionSlider(options=options, value=value, description=description, continuous_update=False)

    return explorer(
        draw,
        alt=lambda width, depth, batch_size, precision, segments, k, measure: (
            f"Predicted memory of one Adam step (parameters, gradients, optimizer state, activations) and its work "
            f"in GFLOP (forward, backward, recomputed forward) for a ReLU MLP of {depth} x {width}, batch {batch_size}, "
            f"{precision}, {segments} checkpointed segment{'s' if segments > 1 else ''}, {k} accumulated micro-batch"
            f"{'es' if k > 1 else ''}."),
        width=Choice([256], 256, "width", live=slider([64, 128, 256, 512, 1024], 256, "width")),
        depth=Choice([4], 4, "depth", live=widgets.IntSlider(value=4, min=1, max=16, description="depth", continuous_update=False)),
        batch_size=Choice([256, 1024], 256, "batch", live=slider([2**i for i in range(4, 12)], 256, "batch")),
        precision=Choice(["float32", "bfloat16"], "float32", "precision",
                         live=widgets.Dropdown(options=["float32", "bfloat16"], value="float32", description="precision")),
        segments=Choice([1, 3], 1, "segments",
                        live=widgets.IntSlider(value=1, min=1, max=8, description="segments", continuous_update=False)),
        k=Choice([1, 4], 1, "accumulate", live=slider([1, 2, 4, 8], 1, "accumulate")),
        measure=Choice([False], False, "measure", live=widgets.Checkbox(value=True, description="measure")),
    )
