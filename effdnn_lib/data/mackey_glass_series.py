r"""The Mackey-Glass chaotic time series and the t+85 prediction task (chapters 8 and 9).

The delay differential equation of Mackey & Glass (1977),

.. math::

    \frac{dx}{dt} = \frac{a\, x(t - \tau)}{1 + x(t - \tau)^{10}} - b\, x(t),
    \qquad a = 0.2,\; b = 0.1,\; \tau = 17,

is chaotic for :math:`\tau = 17`. It is the benchmark of Platt's resource-allocating network
(1991) and of its Kalman-filter successor (Kadirkamanathan & Niranjan, 1993).

**Integration.** :func:`mackey_glass` uses the classical 4th-order Runge-Kutta method with a
fixed step ``h`` (default 0.1) such that :math:`\tau / h` is an integer, so that every point
:math:`t_n - \tau` of the grid is itself a grid point. RK4's two middle stages evaluate the
right-hand side at :math:`t_n + h/2`, which needs :math:`x(t_n + h/2 - \tau)`, half-way between
two stored points. We **interpolate** it with the cubic Hermite polynomial through the two
neighbouring grid values and their derivatives (both are known: the derivative is the right-hand
side, stored as we go):

.. math::

    x(t_{m} + h/2) \approx \frac{x_m + x_{m+1}}{2} + \frac{h}{8}\,(x'_m - x'_{m+1}),

whose error is :math:`O(h^4)`. One step's error is therefore :math:`O(h^5)` and the global error
:math:`O(h^4)`: the scheme keeps RK4's order, which ``tests/test_mackey_glass.py`` checks
(halving ``h`` divides the error by about 16). Holding the delayed value fixed during a step, as
some codes do, would drop the method to first order.

**History.** A delay equation needs :math:`x` on :math:`[-\tau, 0]`, not just :math:`x(0)`.
``history="constant"`` (the default) takes :math:`x(t) = x_0` there; ``history="zero"`` takes
:math:`x(t) = 0` for :math:`t < 0` and :math:`x(0) = x_0`, the convention of many published
data files. Either way the series forgets its start: the prediction task discards the first
1,000 time units. The history's break points (:math:`t = 0, \tau, 2\tau, \dots`, where the
derivatives jump) fall on the grid, so they do not spoil the order either.

**The prediction task** (:func:`mackey_glass_prediction`): from
:math:`\mathbf{x}(t) = [x(t), x(t-6), x(t-12), x(t-18)]` predict :math:`x(t + 85)`, the
long-horizon problem of Lapedes & Farber (1987), Moody & Darken (1989) and Platt (1991). The
series is sampled once per time unit. See that function for the training and test windows.

**The error measure** (:func:`normalized_error`): the root-mean-square error divided by the
standard deviation of the target, so that predicting the mean scores 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checks import check_fits_in_memory, check_int, check_number, checked_by
from ..progress import progress

#: Mackey & Glass's constants in the chaotic regime the RAN literature uses.
MG_TAU, MG_A, MG_B, MG_X0 = 17.0, 0.2, 0.1, 1.2

#: The lags of the inputs and the prediction horizon of the t+85 task.
LAGS = (0, 6, 12, 18)
HORIZON = 85






def mackey_glass_rhs(x: float, x_delayed: float, a: float = MG_A, b: float = MG_B) -> float:
    r"""The right-hand side :math:`a\,x_\tau / (1 + x_\tau^{10}) - b\,x`."""
    return a * x_delayed / (1.0 + x_delayed**10) - b * x


def mackey_glass(
    t_max: float,
    h: float = 0.1,
    tau: float = MG_TAU,
    a: float = MG_A,
    b: float = MG_B,
    x0: float = MG_X0,
    history: str = "constant",
    sample_every: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Integrate the Mackey-Glass equation from :math:`t = 0` to ``t_max`` with RK4.

    ``h`` is the Runge-Kutta step; ``tau / h`` must be an integer (the delay then lands on the
    grid), and so must ``sample_every / h``. Returns ``(t, x)``: the times
    ``0, sample_every, 2 sample_every, ...`` up to ``t_max`` and the solution there. See the
    module docstring for how the half-step delayed values are interpolated and for ``history``.
    """
    t_max = check_number("t_max", t_max, low=0, low_open=True)
    h = check_number("h", h, low=0, low_open=True)
    tau = check_number("tau", tau, low=0, low_open=True)
    a = check_number("a", a, low=0)
    b = check_number("b", b, low=0)
    x0 = check_number("x0", x0, low=0)
    sample_every = check_number("sample_every", sample_every, low=0, low_open=True)
    if history not in ("constant", "zero"):
        raise ValueError(f"history must be 'constant' or 'zero'; got {history!r}")
    lag = round(tau / h)
    if not math.isclose(lag * h, tau, rel_tol=1e-9):
        raise ValueError(f"tau / h must be an integer, so that the delay lands on the grid; got tau={tau}, h={h}")
    stride = round(sample_every / h)
    if stride < 1 or not math.isclose(stride * h, sample_every, rel_tol=1e-9):
        raise ValueError(f"sample_every / h must be a positive integer; got sample_every={sample_every}, h={h}")
    n_steps = int(math.floor(t_max / h + 1e-9))

    # Grid values x_n = x(n h) for n = -lag .. n_steps, stored at index n + lag, and the one-sided
    # derivatives there: f_right[n] = x'(t_n+) (the step's first stage) and f_left[n] = x'(t_n-)
    # (the right-hand side at the end of the previous step). They differ only at the break points
    # where the delayed term jumps (t = tau for history="zero"); the interpolation on
    # [t_m, t_m+1] uses f_right[m] and f_left[m+1], the derivatives from inside that interval.
    x = np.empty(n_steps + lag + 1)
    f_right = np.zeros(n_steps + lag + 1)
    f_left = np.zeros(n_steps + lag + 1)
    past = x0 if history == "constant" else 0.0
    x[:lag] = past
    x[lag] = x0
    half_h = 0.5 * h

    def delayed_mid(m: int) -> float:
        """x(t_m + h/2) by cubic Hermite interpolation between grid points m and m + 1 (m >= -lag)."""
        i = m + lag
        if m + 1 <= 0:  # both ends in the history: its exact value (no interpolation needed)
            return past
        return 0.5 * (x[i] + x[i + 1]) + 0.125 * h * (f_right[i] - f_left[i + 1])

    # A progress bar for long integrations only: it appears after a second (tqdm's delay).
    for n in progress(range(n_steps), desc="Mackey-Glass RK4 steps", delay=1.0, mininterval=0.5):
        i = n + lag
        xn = x[i]
        x_tau0 = x[n]  # x(t_n - tau): index (n - lag) + lag
        x_tau_mid = delayed_mid(n - lag)
        x_tau1 = x[n + 1]  # x(t_n + h - tau)
        if n + 1 == lag:
            # The step ends where t - tau = 0: the delayed term on this step is the history's, so
            # its last stage takes the history's left limit (differs from x0 for history="zero").
            x_tau1 = past
        k1 = mackey_glass_rhs(xn, x_tau0, a, b)
        f_right[i] = k1
        k2 = mackey_glass_rhs(xn + half_h * k1, x_tau_mid, a, b)
        k3 = mackey_glass_rhs(xn + half_h * k2, x_tau_mid, a, b)
        k4 = mackey_glass_rhs(xn + h * k3, x_tau1, a, b)
        x[i + 1] = xn + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        f_left[i + 1] = mackey_glass_rhs(x[i + 1], x_tau1, a, b)
        if not math.isfinite(x[i + 1]):
            raise FloatingPointError(f"the integration diverged at t = {(n + 1) * h:.3f}; try a smaller step h")
    values = x[lag::stride]
    return np.arange(len(values)) * stride * h, values.copy()


def _check_mackey_glass_size(args) -> None:
    """Refuse, before the arrays are allocated, a run too long for memory: three float64 arrays of
    ``t_max / h`` numbers (``mackey_glass`` checks the arguments themselves)."""
    t_max, h = args["t_max"], args["h"]
    if isinstance(t_max, (int, float)) and isinstance(h, (int, float)) and t_max > 0 and h > 0 and math.isfinite(t_max / h):
        check_fits_in_memory(f"mackey_glass(t_max={t_max:g}, h={h:g})", 3 * 8 * (t_max / h + 1))


mackey_glass = checked_by(_check_mackey_glass_size)(mackey_glass)


@dataclass(frozen=True)
class TimeSeriesTask:
    """A supervised task cut from a time series: inputs ``X_*`` (n, 4), targets ``y_*`` (n,), and
    the times ``t_*`` at which each input was taken (the target is ``HORIZON`` later)."""

    X_train: np.ndarray
    y_train: np.ndarray
    t_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    t_test: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)


def delay_embedding(series: np.ndarray, times: np.ndarray, lags=LAGS, horizon: int = HORIZON):
    """Inputs ``[x(t - lag) for lag in lags]``, targets ``x(t + horizon)`` and the times ``t``,
    for every ``t`` of the (unit-spaced) series where all of them exist."""
    series = np.asarray(series, dtype=float)
    first, last = max(lags), len(series) - horizon
    if last <= first:
        raise ValueError(f"the series ({len(series)} points) is too short for lags {lags} and horizon {horizon}")
    idx = np.arange(first, last)
    X = np.stack([series[idx - lag] for lag in lags], axis=1)
    return X, series[idx + horizon], np.asarray(times)[idx]


def mackey_glass_prediction(
    n_train: int = 3000,
    n_test: int = 500,
    t_start: int = 1000,
    gap: int = 500,
    h: float = 0.1,
    history: str = "constant",
) -> TimeSeriesTask:
    r"""The t+85 task: predict :math:`x(t+85)` from :math:`[x(t), x(t-6), x(t-12), x(t-18)]`.

    Windows (times of the input :math:`t`, sampled once per time unit):

    * training: :math:`t = t_\text{start}, \dots, t_\text{start} + n_\text{train} - 1`, in time
      order, as a sequential learner sees them;
    * test: the ``n_test`` consecutive inputs that start ``gap`` time units after the last
      training *target* (:math:`t_\text{start} + n_\text{train} - 1 + 85`), so no test target or
      input overlaps the training stretch.

    Why these defaults: the first 1,000 time units are dropped so the start-up transient of the
    history has died out. Platt (1991) and Kadirkamanathan & Niranjan (1993) learn the series
    sequentially, each sample as it arrives; we take 500 test points and a training stretch of 3,000 samples that a laptop learns in a fraction of a second.
    The error still falls with longer training: chapter 8 measures it up to 40,000 samples, on
    the test window of ``mackey_glass_prediction(n_train=40_000)``, whose training inputs begin
    with those of every shorter task (the same ``t_start``), so one pass can be scored at
    checkpoints on one test window.
    """
    n_train = check_int("n_train", n_train, 10)
    n_test = check_int("n_test", n_test, 1)
    t_start = check_int("t_start", t_start, max(LAGS))
    gap = check_int("gap", gap, 0)
    test_start = t_start + n_train - 1 + HORIZON + gap
    t_end = test_start + n_test - 1 + HORIZON
    t, x = mackey_glass(float(t_end), h=h, history=history)
    X, y, times = delay_embedding(x, t)
    times = np.rint(times).astype(int)
    train = (times >= t_start) & (times < t_start + n_train)
    test = (times >= test_start) & (times < test_start + n_test)
    return TimeSeriesTask(X[train], y[train], times[train], X[test], y[test], times[test])


def normalized_error(y_true, y_pred) -> float:
    r"""RMS error divided by the standard deviation of the target:
    :math:`\sqrt{\operatorname{mean}(y - \hat y)^2} / \operatorname{std}(y)`."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape or y_true.size < 2:
        raise ValueError(f"y_true and y_pred must have the same number (>= 2) of values; got {y_true.size} and {y_pred.size}")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError("y_true and y_pred must be finite")
    std = y_true.std()
    if std == 0:
        raise ValueError("y_true is constant: the normalized error is undefined")
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)) / std)
