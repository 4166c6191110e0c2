r"""The one training loop the chapters share, with its learning-rate schedules and early stopping.

:func:`train` runs mini-batch training of any ``torch.nn.Module`` with any
``torch.optim.Optimizer`` (or a from-scratch one from :mod:`effdnn_lib.optim`) and returns a
:class:`History`. Around the plain loop it adds only what Bengio's practical recommendations ask
for (Bengio, 2012):

* a **learning-rate schedule** :math:`\eta_t`, a function of the epoch (or step) :math:`t`, each with a
  closed form (:class:`StepDecay`, :class:`ExponentialDecay`, :class:`CosineAnnealing`,
  :class:`LinearWarmup`, :class:`InverseTimeDecay`), or :class:`ReduceOnPlateau`, which divides :math:`\eta` by a factor
  (such as 10) when the validation loss stops improving;
* **early stopping** with a patience (:class:`EarlyStopping`), which puts back the weights of the
  best validation epoch;
* **divergence detection**: a non-finite or exploding mini-batch loss stops the run with a
  :class:`TrainingDiverged` exception whose message says what happened and what to try;
* a progress bar (:func:`effdnn_lib.progress.progress`) and the device from
  :func:`effdnn_lib.device.get_device`.

:func:`lr_range_test` sweeps the learning rate geometrically over one short run to find where
the loss falls fastest and where it blows up.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real

import torch
import torch.nn.functional as F

from .device import resolve_device, synchronize
from .progress import progress

__all__ = [
    "TrainingDiverged",
    "ConstantLR",
    "StepDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "CosineAnnealing",
    "LinearWarmup",
    "ReduceOnPlateau",
    "EarlyStopping",
    "History",
    "accuracy",
    "evaluate",
    "train",
    "RangeTestResult",
    "lr_range_test",
]


# ---- argument checks ------------------------------------------------------------------------


def _positive(name: str, value, integer: bool = False):
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be a positive {'int' if integer else 'number'}; got {type(value).__name__} {value!r}")
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive {'int' if integer else 'number'}; got {value!r}")
    return value


def _in_interval(name: str, value, low: float, high: float, closed_high: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number in [{low}, {high}{']' if closed_high else ')'}; got {type(value).__name__} {value!r}")
    if not (low <= value <= high if closed_high else low <= value < high):
        raise ValueError(f"{name} must be a number in [{low}, {high}{']' if closed_high else ')'}; got {value!r}")
    return float(value)


def _time(t) -> int:
    """A schedule's argument: the epoch or step, an int counted from 0."""
    if isinstance(t, bool) or not isinstance(t, Integral):
        raise TypeError(f"t (the epoch or step) must be an int >= 0; got {type(t).__name__} {t!r}")
    if t < 0:
        raise ValueError(f"t (the epoch or step) must be an int >= 0; got {t}")
    return int(t)


# ---- the exception a diverging run ends with -------------------------------------------------


class TrainingDiverged(RuntimeError):
    """Training stopped because the loss became non-finite or exploded.

    ``str(error)`` is a readable sentence for the learner; the attributes say where it happened,
    and ``history`` holds everything recorded before (for a plot of the run up to the blow-up).
    """

    def __init__(self, epoch: int, step: int, loss: float, lr: float, reason: str, history: "History | None" = None):
        self.epoch, self.step, self.loss, self.lr, self.reason, self.history = epoch, step, loss, lr, reason, history
        super().__init__(
            f"Training diverged in epoch {epoch} (step {step}, learning rate {lr:.4g}): {reason}. "
            "Try a smaller learning rate (a learning-rate range test shows where the loss blows up)."
        )


# ---- learning-rate schedules: eta_t as a function of t ----------------------------------------


@dataclass(frozen=True)
class ConstantLR:
    r""":math:`\eta_t = \eta_0`."""

    eta0: float

    def __post_init__(self):
        _positive("eta0", self.eta0)

    def __call__(self, t: int) -> float:
        _time(t)
        return self.eta0


@dataclass(frozen=True)
class StepDecay:
    r""":math:`\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}`: multiply by ``gamma`` every ``step_size`` = :math:`s`."""

    eta0: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        _positive("eta0", self.eta0)
        _positive("step_size", self.step_size, integer=True)
        _in_interval("gamma", self.gamma, 0.0, 1.0)

    def __call__(self, t: int) -> float:
        return self.eta0 * self.gamma ** (_time(t) // self.step_size)


@dataclass(frozen=True)
class ExponentialDecay:
    r""":math:`\eta_t = \eta_0\,\gamma^{t}`."""

    eta0: float
    gamma: float

    def __post_init__(self):
        _positive("eta0", self.eta0)
        _in_interval("gamma", self.gamma, 0.0, 1.0)

    def __call__(self, t: int) -> float:
        return self.eta0 * self.gamma ** _time(t)


@dataclass(frozen=True)
class InverseTimeDecay:
    r""":math:`\eta_t = \eta_0\,\tau / \max(t, \tau)`: constant for the first :math:`\tau` (``tau``)
    units, then decreasing as :math:`1/t` (Bengio, 2012, whose :math:`t` counts updates).

    Not Keras's ``InverseTimeDecay`` (:math:`\eta_0 / (1 + r\,t/s)`): this one stays at
    :math:`\eta_0` until :math:`t = \tau` and is exactly :math:`\eta_0/k` at :math:`t = k\tau`.
    """

    eta0: float
    tau: int

    def __post_init__(self):
        _positive("eta0", self.eta0)
        _positive("tau", self.tau, integer=True)

    def __call__(self, t: int) -> float:
        return self.eta0 * self.tau / max(_time(t), self.tau)


@dataclass(frozen=True)
class CosineAnnealing:
    r""":math:`\eta_t = \eta_\min + \tfrac12(\eta_0 - \eta_\min)\,(1 + \cos(\pi\,t / T))` for
    :math:`t \le T` (``t_max``), and :math:`\eta_\min` after."""

    eta0: float
    t_max: int
    eta_min: float = 0.0

    def __post_init__(self):
        _positive("eta0", self.eta0)
        _positive("t_max", self.t_max, integer=True)
        _in_interval("eta_min", self.eta_min, 0.0, self.eta0)

    def __call__(self, t: int) -> float:
        t = min(_time(t), self.t_max)
        return self.eta_min + 0.5 * (self.eta0 - self.eta_min) * (1 + math.cos(math.pi * t / self.t_max))


@dataclass(frozen=True)
class LinearWarmup:
    r"""Ramp up linearly over ``warmup`` = :math:`W` units, then follow ``schedule`` from its start:
    :math:`\eta_t = \eta^{\text{after}}_0\,(t + 1) / W` for :math:`t < W`, else
    :math:`\eta^{\text{after}}_{t - W}`."""

    schedule: Callable[[int], float]
    warmup: int

    def __post_init__(self):
        if not callable(self.schedule) or isinstance(self.schedule, ReduceOnPlateau):
            raise TypeError("schedule must be a closed-form schedule such as CosineAnnealing (a callable t -> eta_t)")
        _positive("warmup", self.warmup, integer=True)

    def __call__(self, t: int) -> float:
        if _time(t) < self.warmup:
            return self.schedule(0) * (t + 1) / self.warmup
        return self.schedule(t - self.warmup)


class ReduceOnPlateau:
    r"""Divide the learning rate by ``1 / factor`` when the monitored loss has not improved for more
    than ``patience`` epochs: the rule of the seed's Algorithm 2 ("if validation error plateaus,
    :math:`\eta \leftarrow \eta / 10`").

    An epoch *improves* when ``loss < best * (1 - threshold)``. After ``patience + 1`` epochs in a
    row without improvement, :math:`\eta \leftarrow \max(\text{factor}\cdot\eta, \eta_\min)` and the
    count restarts (the rule of ``torch.optim.lr_scheduler.ReduceLROnPlateau`` with ``cooldown=0``).
    Unlike the closed forms, it has state: call :meth:`step` with each epoch's loss.
    """

    def __init__(self, eta0: float, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4, eta_min: float = 0.0):
        self.eta0 = _positive("eta0", eta0)
        self.factor = _in_interval("factor", factor, 0.0, 1.0, closed_high=False)
        if isinstance(patience, bool) or not isinstance(patience, Integral):
            raise TypeError(f"patience must be an int >= 0; got {type(patience).__name__} {patience!r}")
        if patience < 0:
            raise ValueError(f"patience must be an int >= 0; got {patience!r}")
        self.patience = patience
        self.threshold = _in_interval("threshold", threshold, 0.0, 1.0, closed_high=False)
        self.eta_min = _in_interval("eta_min", eta_min, 0.0, eta0)
        self.lr = float(eta0)
        self.best = math.inf
        self.bad_epochs = 0

    def step(self, loss: float) -> float:
        """Record one epoch's loss; return the learning rate for the next epoch."""
        loss = float(loss)
        if math.isnan(loss):
            raise ValueError("loss must be a number; got NaN (the monitored loss is not finite: the run diverged)")
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad_epochs = loss, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.lr = max(self.lr * self.factor, self.eta_min)
            self.bad_epochs = 0
        return self.lr

    def __repr__(self) -> str:
        return f"ReduceOnPlateau(eta0={self.eta0}, factor={self.factor}, patience={self.patience})"


# ---- early stopping -------------------------------------------------------------------------


class EarlyStopping:
    """Stop when the validation loss has not improved by more than ``min_delta`` for ``patience``
    epochs in a row. ``best_epoch`` is 1-based: the number of epochs trained at the best loss."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        _positive("patience", patience, integer=True)
        if isinstance(min_delta, bool) or not isinstance(min_delta, Real):
            raise TypeError(f"min_delta must be a finite number >= 0; got {type(min_delta).__name__} {min_delta!r}")
        if not (math.isfinite(min_delta) and min_delta >= 0):
            raise ValueError(f"min_delta must be a finite number >= 0; got {min_delta!r}")
        self.patience, self.min_delta = patience, float(min_delta)
        self.best, self.best_epoch, self.bad_epochs = math.inf, None, 0

    def update(self, loss: float, epoch: int) -> bool:
        """Record the loss after ``epoch`` epochs; return True if it is a new best."""
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(loss), epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience


# ---- history and evaluation -----------------------------------------------------------------


@dataclass
class History:
    """What :func:`train` records. Lists have one entry per epoch, except ``step_loss``.

    ``train_loss`` is the mean mini-batch data loss of each epoch (any penalty excluded);
    ``val_loss`` and ``val_metrics`` are measured on the validation data after each epoch;
    ``lr`` is the learning rate each epoch started with. ``best_epoch`` (1-based) is the epoch
    whose weights the model holds when early stopping restored them, ``stopped_epoch`` the epoch
    after which early stopping ended the run (``None`` if it ran to the end).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    steps: int = 0
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of examples whose largest logit is the true class."""
    if not isinstance(logits, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"logits and y must be tensors; got {type(logits).__name__} and {type(y).__name__}")
    if logits.ndim != 2 or y.ndim != 1 or len(logits) != len(y):
        raise ValueError(f"logits must be (n, classes) and y (n,) with the same n; got shapes {tuple(logits.shape)} and {tuple(y.shape)}")
    if len(y) == 0:
        raise ValueError("accuracy of no examples is undefined: logits and y are empty")
    return (logits.argmax(dim=1) == y).float().mean().item()


@torch.no_grad()
def evaluate(model: torch.nn.Module, data, loss_fn=F.cross_entropy, metrics: dict | None = None) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``data`` (a pair ``x, y`` or a :class:`~effdnn_lib.data.Split`),
    in evaluation mode (dropout off), on the model's device."""
    x, y = _as_pair(data, "data")
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    was_training = model.training
    model.eval()
    out = model(x)
    result = {"loss": loss_fn(out, y).item()}
    for name, fn in (metrics or {}).items():
        result[name] = float(fn(out, y))
    model.train(was_training)
    return result


def _as_pair(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``data`` as ``(x, y)``, checked: two tensors with as many rows, at least one, and finite inputs
    (NaN in the data would otherwise look like a diverging learning rate)."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(f"{name} must be a Split or a pair (x, y) of tensors; got {type(data).__name__}")
    for part, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: {part} must be a torch.Tensor (convert with torch.as_tensor); got {type(t).__name__}")
        if t.ndim == 0:
            raise ValueError(f"{name}: {part} must have one row per example; got a 0-d tensor")
    if len(x) != len(y):
        raise ValueError(f"{name}: x and y must have the same number of examples; got {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: it must hold at least one example")
    for part, t in (("x", x), ("y", y)):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name}: {part} contains NaN or infinite values; clean the data (this is not a learning-rate problem)")
    return x, y


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


# ---- the loop -------------------------------------------------------------------------------


def train(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data,
    *,
    epochs: int,
    batch_size: int = 32,
    val_data=None,
    loss_fn: Callable = F.cross_entropy,
    metrics: dict[str, Callable] | None = None,
    schedule=None,
    schedule_unit: str = "epoch",
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    penalty: Callable[[torch.nn.Module], torch.Tensor] | None = None,
    after_step: Callable[[torch.nn.Module, float], None] | None = None,
    divergence_factor: float | None = 100.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    desc: str | None = None,
) -> History:
    r"""Train ``model`` with ``optimizer`` on mini-batches of ``train_data`` for up to ``epochs`` epochs.

    Each step draws the next mini-batch of a fresh random permutation (seeded by ``seed``),
    computes :math:`J = \text{loss\_fn}(\text{model}(x), y) + \text{penalty}(\text{model})`, calls
    ``backward`` and ``optimizer.step()``, then ``after_step(model, lr)`` if given (a proximal
    step, for example). The model is moved to ``device`` (default: :func:`get_device`).

    * ``schedule``: a callable :math:`t \mapsto \eta_t` (``schedule_unit`` ``"epoch"`` or ``"step"``,
      :math:`t` counted from 0) or a :class:`ReduceOnPlateau`, stepped with the validation loss
      (the training loss without ``val_data``) after each epoch. It overrides the optimizer's lr.
    * ``patience``: early stopping on the validation loss; with ``restore_best`` the model ends
      with the weights of the best epoch.
    * ``divergence_factor``: raise :class:`TrainingDiverged` when a mini-batch loss is not finite or
      exceeds this multiple of the first mini-batch loss (``None``: only non-finite losses; use it
      when resuming from a model whose first loss is already close to zero). The model then holds the
      best epoch's weights (early stopping with ``restore_best``), else those from the start of the
      epoch that diverged, never the blown-up ones.
    """
    _positive("epochs", epochs, integer=True)
    _positive("batch_size", batch_size, integer=True)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
    if schedule_unit not in ("epoch", "step"):
        raise ValueError(f"schedule_unit must be 'epoch' or 'step'; got {schedule_unit!r}")
    plateau = isinstance(schedule, ReduceOnPlateau)
    if schedule is not None and not (plateau or callable(schedule)):
        raise TypeError(f"schedule must be a callable t -> lr or a ReduceOnPlateau; got {type(schedule).__name__}")
    if plateau and schedule_unit != "epoch":
        raise ValueError("ReduceOnPlateau reacts to epoch losses: use it with schedule_unit='epoch'")
    if patience is not None and val_data is None:
        raise ValueError("early stopping (patience) needs val_data to watch")
    if divergence_factor is not None:
        _positive("divergence_factor", divergence_factor)
    stopper = EarlyStopping(patience, min_delta) if patience is not None else None

    device = resolve_device(device)
    model.to(device)
    x, y = (t.to(device) for t in _as_pair(train_data, "train_data"))
    if val_data is not None:
        val_data = tuple(t.to(device) for t in _as_pair(val_data, "val_data"))
    n = len(x)
    generator = torch.Generator().manual_seed(seed)
    history = History(val_metrics={name: [] for name in (metrics or {})})
    best_state, first_loss, step = None, None, 0
    lr = optimizer.param_groups[0]["lr"] if schedule is None else (schedule.lr if plateau else schedule(0))
    synchronize(device)
    start = time.perf_counter()

    for epoch in progress(range(1, epochs + 1), desc=desc, total=epochs):
        if schedule is not None and not plateau and schedule_unit == "epoch":
            lr = schedule(epoch - 1)
        _set_lr(optimizer, lr)
        history.lr.append(lr)
        epoch_start = copy.deepcopy(model.state_dict())  # put back if this epoch diverges
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        epoch_losses = []
        for begin in range(0, n, batch_size):
            if schedule is not None and schedule_unit == "step":
                lr = schedule(step)
                _set_lr(optimizer, lr)
            index = order[begin : begin + batch_size]
            optimizer.zero_grad()
            data_loss = loss_fn(model(x[index]), y[index])
            objective = data_loss + penalty(model) if penalty is not None else data_loss
            objective.backward()
            optimizer.step()
            if after_step is not None:
                with torch.no_grad():
                    after_step(model, lr)
            step += 1
            value = data_loss.item()
            first_loss = value if first_loss is None else first_loss
            reason = None
            if not math.isfinite(value):
                reason = f"the mini-batch loss became {value}"
            elif divergence_factor is not None and value > divergence_factor * max(first_loss, 1e-12):
                reason = f"the mini-batch loss {value:.4g} exceeded {divergence_factor:g} x the first loss {first_loss:.4g}"
            if reason is not None:
                history.steps = step
                model.load_state_dict(best_state if best_state is not None else epoch_start)
                raise TrainingDiverged(epoch, step, value, lr, reason, history)
            history.step_loss.append(value)
            epoch_losses.append(value)
        history.train_loss.append(sum(epoch_losses) / len(epoch_losses))
        history.steps = step

        monitored = history.train_loss[-1]
        if val_data is not None:
            result = evaluate(model, val_data, loss_fn, metrics)
            monitored = result["loss"]
            history.val_loss.append(monitored)
            for name in history.val_metrics:
                history.val_metrics[name].append(result[name])
            if not math.isfinite(monitored):
                model.load_state_dict(best_state if best_state is not None else epoch_start)
                raise TrainingDiverged(epoch, step, monitored, lr, f"the validation loss became {monitored}", history)
        if plateau:
            lr = schedule.step(monitored)
        if stopper is not None:
            if stopper.update(monitored, epoch) and restore_best:
                best_state = copy.deepcopy(model.state_dict())
            history.best_epoch = stopper.best_epoch
            if stopper.should_stop:
                history.stopped_epoch = epoch
                break

    if best_state is not None:
        model.load_state_dict(best_state)
    synchronize(device)
    history.seconds = time.perf_counter() - start
    return history


# ---- the learning-rate range test -----------------------------------------------------------


@dataclass
class RangeTestResult:
    """Learning rates tried, the smoothed loss after each, and the suggested initial rate
    (a tenth of the rate at the lowest smoothed loss, the rule of fastai's ``minimum`` suggestion)."""

    lrs: list[float]
    losses: list[float]
    suggested_lr: float


def lr_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data,
    *,
    lr_min: float = 1e-5,
    lr_max: float = 10.0,
    steps: int = 100,
    batch_size: int = 32,
    loss_fn: Callable = F.cross_entropy,
    stop_factor: float = 4.0,
    smoothing: float = 0.8,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> RangeTestResult:
    r"""One short run whose learning rate grows geometrically, :math:`\eta_k = \eta_\min
    (\eta_\max / \eta_\min)^{k / (K - 1)}`, one mini-batch per rate.

    This is the form of Smith's (2017) range test that fast.ai's learning-rate finder made common
    (Gugger, 2018): Smith raised the rate linearly over several epochs and read the accuracy;
    the geometric one-batch-per-rate sweep, the smoothed loss and the suggestion (a tenth of the
    rate at the lowest smoothed loss, fastai's ``minimum``) are that later practice.

    The loss is smoothed by a bias-corrected exponential moving average (weight ``smoothing``);
    the sweep stops early once the smoothed loss exceeds ``stop_factor`` times its minimum or
    becomes non-finite. The model's and the optimizer's states are put back afterwards.
    """
    _positive("lr_min", lr_min)
    _positive("lr_max", lr_max)
    if lr_max <= lr_min:
        raise ValueError(f"lr_max must be larger than lr_min; got lr_min={lr_min}, lr_max={lr_max}")
    _positive("steps", steps, integer=True)
    if steps < 2:
        raise ValueError(f"steps must be at least 2; got {steps}")
    _positive("stop_factor", stop_factor)
    smoothing = _in_interval("smoothing", smoothing, 0.0, 1.0, closed_high=False)
    _positive("batch_size", batch_size, integer=True)
    device = resolve_device(device)
    x, y = _as_pair(train_data, "train_data")
    model.to(device)
    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    try:
        lrs, losses = _sweep(model, optimizer, x.to(device), y.to(device), lr_min, lr_max, steps, batch_size, loss_fn, stop_factor, smoothing, seed, device)
    finally:  # put the model and the optimizer back on every exit: the end, an exception, Ctrl-C
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
    if not losses:
        raise TrainingDiverged(1, 1, math.nan, lr_min, f"the loss was not finite even at lr_min={lr_min:g}")
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return RangeTestResult(lrs, losses, lrs[lowest] / 10)


def _sweep(model, optimizer, x, y, lr_min, lr_max, steps, batch_size, loss_fn, stop_factor, smoothing, seed, device):
    """The range test's loop: the learning rates tried and the smoothed losses."""
    generator = torch.Generator().manual_seed(seed)
    order, position = torch.randperm(len(x), generator=generator), 0
    lrs, losses, average, best = [], [], 0.0, math.inf
    model.train()
    for k in range(steps):
        lr = lr_min * (lr_max / lr_min) ** (k / (steps - 1))
        _set_lr(optimizer, lr)
        if position + batch_size > len(x):
            order, position = torch.randperm(len(x), generator=generator), 0
        index = order[position : position + batch_size].to(device)
        position += batch_size
        optimizer.zero_grad()
        loss = loss_fn(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
        value = loss.item()
        if not math.isfinite(value):
            break
        average = smoothing * average + (1 - smoothing) * value
        smoothed = average / (1 - smoothing ** (k + 1))
        lrs.append(lr)
        losses.append(smoothed)
        best = min(best, smoothed)
        if smoothed > stop_factor * best:
            break
    return lrs, losses
