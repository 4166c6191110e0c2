r"""Deep cascade learning (Marquez, Hare & Niranjan, 2018): Algorithm 2 of the review, in torch.

A network is a stack of blocks :math:`f_L \circ \dots \circ f_1` (a block is one layer: a
convolution with its non-linearity, and pooling where the architecture has it). Instead of
training all blocks at once by back-propagating through the whole stack, the cascade trains them
one at a time, bottom up:

1. for ``layer_index`` :math:`l = 1, \dots, L`: connect a new output block :math:`o_l` to block
   :math:`f_l` and train the pair :math:`o_l \circ f_l` on the *pseudo-inputs*
   :math:`x^{(l-1)} = f_{l-1}(\dots f_1(x))` (with :math:`x^{(0)} = x`) for

   .. math:: i_l = \text{epochs} + k \cdot l

   epochs of gradient descent :math:`w \leftarrow w - \eta \nabla J(w)`, dividing :math:`\eta`
   by 10 whenever the validation error plateaus;
2. disconnect the output block, freeze :math:`f_l`, and compute the next pseudo-inputs
   :math:`x^{(l)} = f_l(x^{(l-1)})` once, for the training, validation and test data.

The layer being trained is always adjacent to the output, so its gradient never passes through
more than the output block: the cascade side-steps the vanishing gradient. Each stage also keeps
only one block (plus a small output block) in the backward pass, which is where its savings in
time and memory come from. The final network is :math:`o_L \circ f_L \circ \dots \circ f_1`.

Where this implementation departs from (or has to interpret) the printed algorithm:

* **Mini-batches and momentum.** Line 13 of Algorithm 2 is plain gradient descent. We take the
  gradient on mini-batches (``batch_size``) and allow heavy-ball momentum (``momentum``; the
  default 0.9 is the usual choice for CNNs; ``momentum=0`` is line 13 exactly, on mini-batches),
  because full-batch descent on images is slow for no gain.
* **The plateau rule.** "Validation error plateaus" is made precise as in
  ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (mode ``min``, ``threshold_mode="abs"``, no
  cool-down): after each epoch, if the validation error has not fallen more than ``threshold``
  below the best so far for more than ``patience`` epochs, :math:`\eta \leftarrow \eta / 10`.
  The tests check that :class:`PlateauRule` gives the same learning rates as torch's scheduler.
  The authors' own code uses another rule, offered as :class:`WindowPlateauRule`
  (``plateau_rule=WindowPlateauRule``): after 10 epochs, drop the rate when the mean validation
  accuracy of the last 5 epochs is not above that of the 5 before, and end the stage after the
  fourth drop.
* **The learning rate between layers.** As printed, :math:`\eta` is never reset, so a new layer
  would start with whatever rate the previous one ended on. A new layer and a new output block
  start from random weights, so by default each stage starts again from the initial :math:`\eta`
  (``reset_lr=True``), as the authors' code does (``K.set_value(optimizer.lr, initialLr)`` at the
  start of every stage of ``CascadeTraining`` in their ``utils.py``); ``reset_lr=False`` carries
  the rate over, as printed. Either way the
  plateau detector starts afresh with each stage, since the validation curve is a new one.
* **Caching the pseudo-inputs.** As in the paper, when memory allows, the pseudo-inputs of all
  splits are computed once per stage and kept (``cache_pseudo_inputs=True``). With ``False``,
  every mini-batch is forwarded through the frozen blocks again (no gradients): slower, but it
  holds no cache. Both give the same numbers up to float rounding.
* **The output block** is whatever ``make_head(feature_shape)`` builds. The course uses a small
  one (:func:`conv_head`) to keep everything fast on a CPU; the authors' code uses
  FC512-FC256 with dropout, offered as :func:`dense_head`.
* **Memory** is the *peak training memory* of a stage: on the CPU counted as described in
  :func:`peak_training_memory`; on a GPU ``torch.cuda.max_memory_allocated`` during the stage's
  training, minus what was allocated before it other than the trained parameters. The data and
  the cached pseudo-inputs are left out and the cache is reported separately (``cache_bytes``):
  it is data held between stages, not part of a training step.
* **Time** of a stage counts its training epochs, the validation passes the plateau rule needs
  and the forward pass that makes the next pseudo-inputs; it excludes the train and test
  accuracies computed for the report and a warm-up pass before the clock starts.
  :func:`train_end_to_end` times the same things.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .checks import check_int, check_number, checked_by
from .device import get_device, synchronize
from .memory import optimizer_state_bytes

# ---------------------------------------------------------------------------------------------
# The two rules of Algorithm 2: how many epochs a layer gets, and when the learning rate drops.
# ---------------------------------------------------------------------------------------------


def epochs_for_layer(layer_index: int, epochs: int, k: int) -> int:
    r"""Line 11 of Algorithm 2: :math:`i_l = \text{epochs} + k \cdot l`, for ``layer_index`` :math:`l \ge 1`."""
    if not isinstance(layer_index, int) or isinstance(layer_index, bool) or layer_index < 1:
        raise ValueError(f"layer_index must be an int >= 1 (layers count from 1); got {layer_index!r}")
    for name, value in (("epochs", epochs), ("k", k)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    i_l = epochs + k * layer_index
    if i_l < 1:
        raise ValueError(
            f"epochs + k * layer_index must be >= 1 for every layer; got {epochs} + {k} * {layer_index} = {i_l}"
        )
    return i_l


def epoch_schedule(n_layers: int, epochs: int, k: int) -> list[int]:
    """The epochs of every stage, ``[i_1, ..., i_L]``; their sum is the cascade's budget in epochs."""
    if not isinstance(n_layers, int) or isinstance(n_layers, bool) or n_layers < 1:
        raise ValueError(f"n_layers must be an int >= 1; got {n_layers!r}")
    return [epochs_for_layer(layer, epochs, k) for layer in range(1, n_layers + 1)]


class PlateauRule:
    r"""Divide the learning rate by 10 when the validation error plateaus (lines 14-16).

    After each epoch call :meth:`step` with the validation error :math:`e_t`. The epoch counts as
    an improvement when :math:`e_t < e_\text{best} - \text{threshold}`; otherwise a counter of bad
    epochs goes up. When the counter exceeds ``patience``, :math:`\eta \leftarrow
    \text{factor}\cdot\eta` (``factor=0.1``: divided by 10) and the counter restarts. This is
    ``ReduceLROnPlateau(mode="min", factor, patience, threshold, threshold_mode="abs",
    cooldown=0, min_lr)`` written out.
    """

    def __init__(self, lr: float, patience: int = 2, threshold: float = 1e-3, factor: float = 0.1, min_lr: float = 0.0):
        check_number("lr", lr, low=0, low_open=True)
        check_int("patience", patience, 0)
        check_number("threshold", threshold, low=0, high=1, high_open=True)
        if not isinstance(factor, (int, float)) or not 0 < factor < 1:
            raise ValueError(f"factor must be a number in (0, 1); got {factor!r}")
        if not isinstance(min_lr, (int, float)) or min_lr < 0:
            raise ValueError(f"min_lr must be a number >= 0; got {min_lr!r}")
        self.lr, self.patience, self.threshold, self.factor, self.min_lr = float(lr), patience, float(threshold), float(factor), float(min_lr)
        self.best = math.inf
        self.bad_epochs = 0

    def step(self, val_error: float) -> float:
        """Record one epoch's validation error; return the learning rate for the next epoch."""
        val_error = float(val_error)
        if math.isnan(val_error):
            raise ValueError("val_error is NaN: the validation error must be a number in [0, 1]")
        if val_error < self.best - self.threshold:
            self.best, self.bad_epochs = val_error, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.lr = max(self.lr * self.factor, self.min_lr)
            self.bad_epochs = 0
        return self.lr


def _check_plateau_rule(args) -> None:
    """What PlateauRule.__init__ (printed in chapter 10) does not check itself: a finite min_lr no
    larger than lr (a larger floor would make the rule raise the rate), factor and threshold finite."""
    lr = check_number("lr", args["lr"], low=0, low_open=True)
    check_number("min_lr", args["min_lr"], low=0, high=lr)
    check_number("factor", args["factor"], low=0, high=1, low_open=True, high_open=True)


PlateauRule.__init__ = checked_by(_check_plateau_rule)(PlateauRule.__init__)


class WindowPlateauRule:
    r"""The authors' plateau rule, from their code (``LearningRateC`` in ``utils.py`` of
    github.com/EnriqueSMarquez/CascadeLearning), an option to :class:`PlateauRule`.

    After each epoch call :meth:`step` with the validation error. Once more than ``wait`` epochs
    have passed since the start (or since the last drop), the mean validation *accuracy* of the
    last ``window`` epochs is compared with the mean of the ``window`` epochs before them; if it is
    not larger, :math:`\eta \leftarrow \text{factor}\cdot\eta` and the count of epochs restarts.
    When the rate has dropped more than ``max_drops`` times, :attr:`stop` becomes True and the
    trainers end the stage. Their code uses ``wait=10, window=5`` for the cascade (and
    ``wait=75, window=20`` for end-to-end training) and stops after the fourth drop
    (``max_drops=3``). It also stops when the training accuracy reaches 0.99; that rule is not
    reproduced here.
    """

    def __init__(self, lr: float, wait: int = 10, window: int = 5, max_drops: int = 3, factor: float = 0.1):
        check_number("lr", lr, low=0, low_open=True)
        check_int("wait", wait, 0)
        check_int("window", window, 1)
        check_int("max_drops", max_drops, 0)
        check_number("factor", factor, low=0, high=1, low_open=True, high_open=True)
        if wait < 2 * window - 1:
            raise ValueError(f"wait must be >= 2 * window - 1 = {2 * window - 1}, so that two windows of "
                             f"validation accuracies exist when the rule first looks; got wait={wait}")
        self.lr, self.wait, self.window, self.max_drops, self.factor = float(lr), wait, window, max_drops, float(factor)
        self.val_acc: list[float] = []  # every epoch's validation accuracy
        self.epochs_since_drop = 0
        self.drops = 0
        self.stop = False

    def step(self, val_error: float) -> float:
        """Record one epoch's validation error; return the learning rate for the next epoch."""
        val_error = float(val_error)
        if math.isnan(val_error):
            raise ValueError("val_error is NaN: the validation error must be a number in [0, 1]")
        self.val_acc.append(1.0 - val_error)
        self.epochs_since_drop += 1
        w = self.window
        if self.epochs_since_drop > self.wait:
            last, before = self.val_acc[-w:], self.val_acc[-2 * w : -w]
            if sum(last) / w <= sum(before) / w:
                self.lr *= self.factor
                self.drops += 1
                self.epochs_since_drop = 0
            if self.drops > self.max_drops:
                self.stop = True
        return self.lr


# ---------------------------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------------------------


@dataclass
class StageRecord:
    """What one stage of the cascade (or one end-to-end run) did and cost."""

    layer: int  #: the block trained in this stage, counting from 1 (end to end: the depth)
    epochs: int  #: i_l, the number of epochs it trained for
    lrs: list[float] = field(default_factory=list)  #: learning rate used in each epoch
    train_loss: list[float] = field(default_factory=list)  #: mean training loss of each epoch
    val_error: list[float] = field(default_factory=list)  #: validation error after each epoch
    train_acc: float = math.nan
    val_acc: float = math.nan
    test_acc: float = math.nan
    seconds: float = 0.0  #: training + validation + making the next pseudo-inputs
    peak_mem_bytes: int = 0  #: peak training memory (see peak_training_memory)
    trainable_params: int = 0
    cache_bytes: int = 0  #: bytes of the pseudo-inputs this stage cached (all splits)
    feature_shape: tuple = ()  #: shape of one example after this stage's block

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CascadeResult:
    """The trained (frozen) blocks, the output block of every stage, and the per-stage history.

    ``pseudo_inputs`` holds the last stage's features :math:`x^{(L)}` of every split.
    """

    stages: list[StageRecord]
    blocks: list[nn.Module]
    heads: list[nn.Module]
    pseudo_inputs: dict[str, torch.Tensor] = field(default_factory=dict)

    def network(self, depth: int | None = None) -> nn.Sequential:
        """Blocks ``1..depth`` followed by stage ``depth``'s output block (default: all of them)."""
        depth = len(self.blocks) if depth is None else depth
        if not isinstance(depth, int) or not 1 <= depth <= len(self.blocks):
            raise ValueError(f"depth must be an int in [1, {len(self.blocks)}]; got {depth!r}")
        return nn.Sequential(*self.blocks[:depth], self.heads[depth - 1])

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


# ---------------------------------------------------------------------------------------------
# Helpers shared by the cascade and the end-to-end trainer
# ---------------------------------------------------------------------------------------------




def _check_data(data) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict with 'train', 'val' and 'test' splits; got {type(data).__name__}")
    for name in ("train", "val", "test"):
        if name not in data:
            raise ValueError(f"data must have a '{name}' split; it has {sorted(data)}")
        split = data[name]
        if not (hasattr(split, "x") and hasattr(split, "y") and torch.is_tensor(split.x) and torch.is_tensor(split.y)):
            raise TypeError(f"data['{name}'] must have tensors .x and .y (an effdnn_lib.data.Split)")
        if len(split.x) != len(split.y):
            raise ValueError(f"data['{name}'] has {len(split.x)} inputs but {len(split.y)} labels")
        if len(split.y) == 0:
            raise ValueError(f"data['{name}'] must hold at least one example (the plateau rule needs a validation error)")


def _rule_maker(plateau_rule, patience, threshold) -> Callable[[float], object]:
    """``lr -> rule``: the given factory, or the default :class:`PlateauRule` with ``patience`` and ``threshold``."""
    if plateau_rule is None:
        return lambda lr: PlateauRule(lr, patience=patience, threshold=threshold)
    if not callable(plateau_rule):
        raise TypeError(f"plateau_rule must be callable: plateau_rule(lr) -> rule; got {type(plateau_rule).__name__}")

    def make(lr):
        rule = plateau_rule(lr)
        if not (callable(getattr(rule, "step", None)) and hasattr(rule, "lr")):
            raise TypeError(f"plateau_rule(lr) must return an object with .step(val_error) and .lr; got {type(rule).__name__}")
        return rule

    return make


def _check_training_args(lr, momentum, batch_size) -> None:
    check_number("lr", lr, low=0, low_open=True)
    check_number("momentum", momentum, low=0, high=1, high_open=True)
    check_int("batch_size", batch_size, 1)


def freeze(block: nn.Module) -> nn.Module:
    """Fix a trained block: no gradients for its parameters, and eval mode, so that layers with
    state (batch-norm running statistics, dropout) stop changing too."""
    block.requires_grad_(False)
    block.eval()
    return block


def trainable_parameter_count(module: nn.Module) -> int:
    """Numbers the optimizer updates: parameters with ``requires_grad``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@torch.no_grad()
def forward_in_batches(module: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """``module(x)`` without gradients, in eval mode, a chunk of ``batch_size`` examples at a time."""
    modes = [(m, m.training) for m in module.modules()]  # restored one by one: .train() would recurse
    module.eval()
    out = torch.cat([module(chunk) for chunk in x.split(batch_size)]) if len(x) else module(x)
    for m, training in modes:
        m.training = training
    return out


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Fraction of examples whose largest output is the label."""
    logits = forward_in_batches(model, x, batch_size)
    return (logits.argmax(dim=1) == y).float().mean().item()


class SavedTensorBytes:
    """Context manager that adds up the bytes autograd saves for backward inside it.

    It records the forward pass of a *real* training step (no extra pass, so layers with state,
    such as batch norm, are not run twice). Each storage is counted once, and the parameters of
    ``model`` (counted as parameters) are left out, as in
    :func:`effdnn_lib.memory.saved_activation_bytes`, which the tests compare it with.
    """

    def __init__(self, model: nn.Module):
        self._params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self._seen: dict[int, int] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in self._params:
            self._seen[ptr] = max(self._seen.get(ptr, 0), t.untyped_storage().nbytes())
        return t

    def __enter__(self) -> "SavedTensorBytes":
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)

    @property
    def total(self) -> int:
        return sum(self._seen.values())


def peak_training_memory(model: nn.Module, optimizer: torch.optim.Optimizer, activation_bytes: int) -> int:
    """Bytes a training step of ``model`` holds at its peak, as counted on the CPU.

    The sum of what the backward pass and the update need: the activations autograd saved during
    the forward pass (``activation_bytes``, from :class:`SavedTensorBytes`), and the parameters,
    their gradients and the optimizer state of the *trainable* part. Call it after an optimizer
    step, so that the state exists. On a GPU the trainers use ``torch.cuda.max_memory_allocated``
    instead, which also sees the allocator's rounding and temporary buffers: expect larger numbers.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    param_bytes = sum(p.numel() * p.element_size() for p in trainable)
    return activation_bytes + 2 * param_bytes + optimizer_state_bytes(optimizer)


def _warm_up(model: nn.Module, x: torch.Tensor, y: torch.Tensor, frozen: nn.Module | None = None) -> None:
    """One untimed forward and backward pass (no update), and a throwaway optimizer.

    The first optimizer a process builds imports part of torch's compiler (seconds), and the
    first pass through a layer type initialises its kernels; neither belongs to the stage that
    happens to come first, so the trainers pay them before starting the clock. The pass runs in
    eval mode, so that it changes no running statistics and draws no dropout masks.
    """
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        x = frozen(x) if frozen is not None else x
    F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    for m, training in modes:
        m.training = training


def _train(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    record: StageRecord,
    *,
    lr: float,
    momentum: float,
    batch_size: int,
    rule: PlateauRule,
    generator: torch.Generator,
    device: torch.device,
    frozen: nn.Module | None = None,
    what: str = "",
    progress_bar=None,
) -> None:
    """Mini-batch SGD on the trainable parameters of ``model`` for ``record.epochs`` epochs,
    with the plateau rule after each epoch. ``frozen`` (optional) is applied to every mini-batch
    first, without gradients. Fills ``record`` in place (lrs, losses, validation errors, memory)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)
    n = len(y_train)
    on_cuda = device.type == "cuda"
    if on_cuda:
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        # what was there before: the data, the cache, frozen blocks; the trained parameters count
        base_bytes = torch.cuda.memory_allocated(device) - sum(p.numel() * p.element_size() for p in params)
    measured_cpu = False
    model.train()
    epochs = range(record.epochs)
    for epoch in progress_bar(epochs, desc=what) if progress_bar else epochs:
        for group in optimizer.param_groups:
            group["lr"] = lr
        record.lrs.append(lr)
        order = torch.randperm(n, generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            if frozen is not None:
                with torch.no_grad():
                    xb = frozen(xb)
            measure = not on_cuda and not measured_cpu and len(yb) == min(batch_size, n)
            with SavedTensorBytes(model) if measure else contextlib.nullcontext() as saved:
                loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(yb)
            if measure:  # on the CPU: the first full mini-batch, once the optimizer state exists
                record.peak_mem_bytes = peak_training_memory(model, optimizer, saved.total)
                measured_cpu = True
        mean_loss = loss_sum.item() / n
        if not math.isfinite(mean_loss):
            raise FloatingPointError(
                f"{what} diverged in epoch {epoch + 1}: the training loss is {mean_loss}. "
                f"Lower the learning rate (it was {lr:g})."
            )
        record.train_loss.append(mean_loss)
        x_val_in = forward_in_batches(frozen, x_val) if frozen is not None else x_val
        val_error = 1.0 - accuracy(model, x_val_in, y_val)
        model.train()
        record.val_error.append(val_error)
        lr = rule.step(val_error)
        if getattr(rule, "stop", False):  # a rule may end the stage early (WindowPlateauRule)
            break
    if on_cuda:
        synchronize(device)
        record.peak_mem_bytes = int(torch.cuda.max_memory_allocated(device) - base_bytes)
    model.eval()


# ---------------------------------------------------------------------------------------------
# Algorithm 2 and the end-to-end baseline
# ---------------------------------------------------------------------------------------------


def cascade_train(
    blocks: Sequence[nn.Module],
    make_head: Callable[[tuple], nn.Module],
    data: dict,
    *,
    epochs: int = 3,
    k: int = 1,
    lr: float = 0.05,
    momentum: float = 0.9,
    batch_size: int = 64,
    patience: int = 1,
    threshold: float = 1e-3,
    plateau_rule: Callable[[float], object] | None = None,
    reset_lr: bool = True,
    cache_pseudo_inputs: bool = True,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress_bar=None,
) -> CascadeResult:
    r"""Train ``blocks`` bottom up with Algorithm 2; return the per-stage history.

    Parameters
    ----------
    blocks
        The layers :math:`f_1, \dots, f_L` of the network, initialised (modules; trained in place,
        then frozen).
    make_head
        ``make_head(feature_shape) -> nn.Module``: a new output block :math:`o_l` for pseudo-inputs
        of shape ``feature_shape`` (one example, e.g. ``(C, H, W)``). Called once per stage, after
        ``torch.manual_seed(seed + l)``.
    data
        ``{"train", "val", "test"}`` splits (:class:`effdnn_lib.data.Split`); ``val`` drives the
        plateau rule, ``test`` is only reported.
    epochs, k
        Stage :math:`l` trains for :math:`i_l = \text{epochs} + k\,l` epochs.
    lr, momentum, batch_size
        Initial :math:`\eta`, heavy-ball momentum (0 is plain SGD) and mini-batch size.
    patience, threshold
        The plateau rule (:class:`PlateauRule`).
    plateau_rule
        Optional ``plateau_rule(lr) -> rule`` that replaces :class:`PlateauRule`: any object with
        ``rule.step(val_error) -> next lr`` and ``rule.lr`` (and ``rule.stop`` to end a stage
        early), e.g. ``WindowPlateauRule`` (the authors' rule); ``patience`` and ``threshold``
        are then unused.
    reset_lr
        Start every stage from ``lr`` (default) or carry the reduced rate over (the printed
        algorithm).
    cache_pseudo_inputs
        Keep :math:`x^{(l)}` for all splits (the paper's choice) or recompute it per mini-batch.
    device
        Defaults to :func:`effdnn_lib.device.get_device`.
    progress_bar
        Optional wrapper for the loop over stages, e.g. ``effdnn_lib.progress.progress``.
    """
    if isinstance(blocks, nn.Module) and not isinstance(blocks, (nn.Sequential, nn.ModuleList)):
        raise TypeError("blocks must be a sequence of nn.Module (the layers), not a single module")
    blocks = list(blocks)
    if not blocks or not all(isinstance(b, nn.Module) for b in blocks):
        raise TypeError("blocks must be a non-empty sequence of nn.Module")
    if not callable(make_head):
        raise TypeError(f"make_head must be callable: make_head(feature_shape) -> nn.Module; got {type(make_head).__name__}")
    _check_data(data)
    _check_training_args(lr, momentum, batch_size)
    schedule = epoch_schedule(len(blocks), epochs, k)
    make_rule = _rule_maker(plateau_rule, patience, threshold)
    device = torch.device(device) if device is not None else get_device()

    splits = {name: data[name].to(device) for name in ("train", "val", "test")}
    pseudo = {name: s.x for name, s in splits.items()}  # x^(l-1), cached
    labels = {name: s.y for name, s in splits.items()}
    frozen_stack: list[nn.Module] = []  # used only without the cache
    stages, heads = [], []
    rule = None
    layers = range(1, len(blocks) + 1)
    for layer in progress_bar(layers, desc="cascade stages") if progress_bar else layers:
        block = blocks[layer - 1].to(device)
        block.requires_grad_(True)
        inputs = pseudo if cache_pseudo_inputs else {n: s.x for n, s in splits.items()}
        frozen = nn.Sequential(*frozen_stack) if frozen_stack and not cache_pseudo_inputs else None
        with torch.no_grad():
            probe = inputs["train"][:1]
            probe = frozen(probe) if frozen is not None else probe
            feature_shape = tuple(block.eval()(probe).shape[1:])
        torch.manual_seed(seed + layer)
        head = make_head(feature_shape)
        if not isinstance(head, nn.Module):
            raise TypeError(f"make_head must return an nn.Module; got {type(head).__name__}")
        head = head.to(device)
        model = nn.Sequential(block, head)  # "init new layer and connect output block"
        # A new model starts a new validation curve, so the plateau detector starts afresh;
        # only the learning rate is carried over when reset_lr is False.
        rule = make_rule(lr if rule is None or reset_lr else rule.lr)
        record = StageRecord(layer=layer, epochs=schedule[layer - 1], feature_shape=feature_shape)
        record.trainable_params = trainable_parameter_count(model)
        generator = torch.Generator().manual_seed(seed + layer)
        _warm_up(model, inputs["train"][:batch_size], labels["train"][:batch_size], frozen)
        synchronize(device)
        start = time.perf_counter()
        _train(
            model, inputs["train"], labels["train"], inputs["val"], labels["val"], record,
            lr=rule.lr, momentum=momentum, batch_size=batch_size, rule=rule,
            generator=generator, device=device, frozen=frozen, what=f"cascade stage {layer}",
        )  # fmt: skip
        freeze(block)  # "disconnect output block": the head is kept only to report this stage
        freeze(head)
        if cache_pseudo_inputs:  # "get new inputs": x^(l) = f_l(x^(l-1)), once per split
            pseudo = {name: forward_in_batches(block, x) for name, x in pseudo.items()}
            record.cache_bytes = sum(x.numel() * x.element_size() for x in pseudo.values())
            features = pseudo
        else:
            frozen_stack.append(block)
        synchronize(device)
        record.seconds = time.perf_counter() - start
        if not cache_pseudo_inputs:
            stack = nn.Sequential(*frozen_stack)
            features = {name: forward_in_batches(stack, s.x) for name, s in splits.items()}
        for name in ("train", "val", "test"):
            setattr(record, f"{name}_acc", accuracy(head, features[name], labels[name]))
        stages.append(record)
        heads.append(head)
    return CascadeResult(stages=stages, blocks=blocks, heads=heads, pseudo_inputs=features)


def train_end_to_end(
    blocks: Sequence[nn.Module],
    head: nn.Module,
    data: dict,
    *,
    epochs: int,
    lr: float = 0.05,
    momentum: float = 0.9,
    batch_size: int = 64,
    patience: int = 1,
    threshold: float = 1e-3,
    plateau_rule: Callable[[float], object] | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress_bar=None,
) -> StageRecord:
    """The usual way, for comparison: back-propagate through ``blocks`` and ``head`` together.

    Same optimizer, mini-batches, plateau rule and timing as :func:`cascade_train`, for
    ``epochs`` epochs (give it the cascade's total, ``sum(epoch_schedule(...))``, for the same
    budget in epochs). Every parameter is made trainable; the modules are trained in place, so
    pass copies (``copy.deepcopy``) to fine-tune a cascade without changing it. ``progress_bar``
    optionally wraps the loop over epochs. Returns one :class:`StageRecord` with ``layer`` = the
    depth.
    """
    blocks = list(blocks)
    if not blocks or not all(isinstance(b, nn.Module) for b in blocks):
        raise TypeError("blocks must be a non-empty sequence of nn.Module")
    if not isinstance(head, nn.Module):
        raise TypeError(f"head must be an nn.Module; got {type(head).__name__}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1; got {epochs!r}")
    _check_data(data)
    _check_training_args(lr, momentum, batch_size)
    device = torch.device(device) if device is not None else get_device()
    splits = {name: data[name].to(device) for name in ("train", "val", "test")}
    model = nn.Sequential(*blocks, head).to(device)
    model.requires_grad_(True)
    record = StageRecord(layer=len(blocks), epochs=epochs)
    with torch.no_grad():
        record.feature_shape = tuple(nn.Sequential(*blocks).eval()(splits["train"].x[:1]).shape[1:])
    record.trainable_params = trainable_parameter_count(model)
    rule = _rule_maker(plateau_rule, patience, threshold)(lr)
    generator = torch.Generator().manual_seed(seed)
    _warm_up(model, splits["train"].x[:batch_size], splits["train"].y[:batch_size])
    synchronize(device)
    start = time.perf_counter()
    _train(
        model, splits["train"].x, splits["train"].y, splits["val"].x, splits["val"].y, record,
        lr=lr, momentum=momentum, batch_size=batch_size, rule=rule,
        generator=generator, device=device, what="end-to-end training", progress_bar=progress_bar,
    )  # fmt: skip
    synchronize(device)
    record.seconds = time.perf_counter() - start
    for name in ("train", "val", "test"):
        setattr(record, f"{name}_acc", accuracy(model, splits[name].x, splits[name].y))
    return record


# ---------------------------------------------------------------------------------------------
# The networks of chapter 10, and a look at the vanishing gradient
# ---------------------------------------------------------------------------------------------


def conv_blocks(channels: Sequence[int] = (8, 16, 16, 32), pool_after: Sequence[int] = (2, 4), in_channels: int = 1, seed: int = 0) -> list[nn.Sequential]:
    """The blocks of a small CNN: block ``l`` is ``Conv2d(3x3, padding 1) -> ReLU``, followed by
    ``MaxPool2d(2)`` when ``l`` is in ``pool_after`` (layers count from 1). Initialised with
    ``torch.manual_seed(seed)``."""
    if not channels or not all(isinstance(c, int) and c >= 1 for c in channels):
        raise ValueError(f"channels must be a non-empty sequence of positive ints; got {channels!r}")
    if not all(isinstance(p, int) and 1 <= p <= len(channels) for p in pool_after):
        raise ValueError(f"pool_after must list layer indices in [1, {len(channels)}]; got {pool_after!r}")
    torch.manual_seed(seed)
    blocks, c_in = [], in_channels
    for layer, c_out in enumerate(channels, start=1):
        parts: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.ReLU()]
        if layer in pool_after:
            parts.append(nn.MaxPool2d(2))
        blocks.append(nn.Sequential(*parts))
        c_in = c_out
    return blocks


def conv_head(feature_shape: Sequence[int], n_classes: int = 10, pooled: int = 2) -> nn.Sequential:
    """A small output block: average-pool the feature maps to ``pooled x pooled``, then one linear
    layer to the classes. Small on purpose, so that what a stage can do depends on the features
    its block has learned, and its memory stays well below the whole network's."""
    if len(feature_shape) != 3:
        raise ValueError(f"feature_shape must be (channels, height, width); got {tuple(feature_shape)}")
    c = feature_shape[0]
    return nn.Sequential(nn.AdaptiveAvgPool2d(pooled), nn.Flatten(), nn.Linear(c * pooled * pooled, n_classes))


def dense_head(feature_shape: Sequence[int], n_classes: int = 10, hidden: Sequence[int] = (512, 256), dropout: float = 0.5) -> nn.Sequential:
    """The authors' output block, an option to :func:`conv_head`: ``Flatten -> Dropout ->
    Linear(512) -> ReLU -> Dropout -> Linear(256) -> ReLU -> Linear(n_classes)`` (``CascadeTraining``
    in ``utils.py`` of github.com/EnriqueSMarquez/CascadeLearning; ``hidden`` sets the widths,
    ``dropout`` the drop probability, 0 for none). Their code also puts an L2 penalty of 1e-3 on
    these weights, which the trainers here do not. It is large: on a CPU it makes every stage
    cost more than its block."""
    if len(feature_shape) < 1 or not all(isinstance(d, int) and d >= 1 for d in feature_shape):
        raise ValueError(f"feature_shape must be a non-empty shape of positive ints; got {tuple(feature_shape)}")
    check_int("n_classes", n_classes, 2)
    if len(hidden) < 1 or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive ints; got {hidden!r}")
    check_number("dropout", dropout, low=0, high=1, high_open=True)
    parts: list[nn.Module] = [nn.Flatten()]
    width = math.prod(feature_shape)
    for h in hidden:
        parts += [nn.Dropout(dropout), nn.Linear(width, h), nn.ReLU()]
        width = h
    parts.append(nn.Linear(width, n_classes))
    return nn.Sequential(*parts)


INITS = ("torch", "xavier", "he")


def mlp_blocks(widths: Sequence[int], activation: type[nn.Module] = nn.ReLU, init: str = "torch", seed: int = 0) -> list[nn.Sequential]:
    """Blocks ``Linear(widths[l-1], widths[l]) -> activation`` of a fully connected network.

    ``init`` sets the weights: ``"torch"`` keeps PyTorch's default, ``"xavier"`` draws them with
    variance ``2 / (fan_in + fan_out)`` (Glorot & Bengio's choice for saturating units), ``"he"``
    with variance ``2 / fan_in`` (He et al.'s choice for ReLU); biases start at zero for the last two.
    """
    if len(widths) < 2 or not all(isinstance(w, int) and w >= 1 for w in widths):
        raise ValueError(f"widths must list at least two positive ints; got {widths!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}; got {init!r}")
    torch.manual_seed(seed)
    blocks = []
    for a, b in zip(widths[:-1], widths[1:]):
        linear = nn.Linear(a, b)
        if init != "torch":
            std = math.sqrt(2 / (a + b)) if init == "xavier" else math.sqrt(2 / a)
            with torch.no_grad():
                linear.weight.normal_(0.0, std)
                linear.bias.zero_()
        blocks.append(nn.Sequential(linear, activation()))
    return blocks


def linear_head(feature_shape: Sequence[int], n_classes: int = 10) -> nn.Module:
    """The simplest output block: one linear layer on the flattened features."""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(feature_shape), n_classes))


def weight_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    r""":math:`\lVert \partial J / \partial W_l \rVert_F` for every weight matrix or kernel
    (parameters with two or more dimensions), from the input side to the output, for the
    cross-entropy :math:`J` on ``(x, y)``. Biases are left out. Gradients already in ``.grad`` are
    not touched."""
    weights = [p for p in model.parameters() if p.dim() >= 2]
    if not weights:
        raise ValueError("model has no weight matrices or kernels (parameters with 2 or more dimensions)")
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), weights)
    return [g.norm().item() for g in grads]
