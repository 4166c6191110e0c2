r"""Resource-allocating networks: Platt's RAN (1991) and RAN-EKF (Kadirkamanathan & Niranjan, 1993).

Both are Gaussian radial-basis-function networks with one output that **grow while they learn**,
one sample at a time. With :math:`K` units, centres :math:`\mathbf c_k`, widths :math:`w_k`,
output weights :math:`h_k` and a bias :math:`\gamma`,

.. math::

    \phi_k(\mathbf x) = \exp\!\left(-\frac{\lVert \mathbf x - \mathbf c_k\rVert^2}{w_k^2}\right),
    \qquad
    \hat y(\mathbf x) = \gamma + \sum_{k=1}^{K} h_k\, \phi_k(\mathbf x).

**Growth (both classes).** Sample :math:`n` (counting from 0) with input :math:`\mathbf x_n` and
target :math:`y_n` is *novel* when both

.. math::

    d_n = \min_k \lVert \mathbf x_n - \mathbf c_k \rVert > \delta(n)
    \quad\text{(eq. 1)}
    \qquad\text{and}\qquad
    |e_n| = |y_n - \hat y(\mathbf x_n)| > \epsilon \quad\text{(eq. 2)},

with the resolution :math:`\delta(n) = \max(\delta_{\max} e^{-n/\tau}, \delta_{\min})` shrinking
from coarse to fine. A novel sample gets a new unit that corrects the error exactly at
:math:`\mathbf x_n`: :math:`\mathbf c_{K+1} = \mathbf x_n`, :math:`h_{K+1} = e_n`,
:math:`w_{K+1} = \kappa\, d_n` (the overlap factor :math:`\kappa` times the distance to the
nearest centre). With no unit yet, :math:`d_n = \infty` and the width is :math:`\kappa\,\delta(n)`.
The very first sample sets the bias, :math:`\gamma = y_0`, and allocates nothing.

**Adaptation (when the sample is not novel).**

* :class:`RAN` takes one Widrow-Hoff LMS step on :math:`\tfrac12 e_n^2` with learning rate
  :math:`\alpha`: :math:`\Delta\gamma = \alpha e_n`, :math:`\Delta h_k = \alpha e_n \phi_k`,
  :math:`\Delta\mathbf c_k = \alpha e_n h_k \phi_k\, 2(\mathbf x_n - \mathbf c_k)/w_k^2` (the exact
  gradient; widths stay fixed). Platt (1991) prints the centre step with :math:`2/w_k` in place of
  :math:`2/w_k^2`: ``RAN(centre_update="printed")`` takes that form.
* :class:`RANEKF` runs one step of an extended Kalman filter on all adapted parameters
  :math:`\mathbf w = [\gamma, h_1, \mathbf c_1, \dots, h_K, \mathbf c_K]`, with
  :math:`\mathbf a_n = \partial \hat y / \partial \mathbf w` (the linearisation):

  .. math::

      \mathbf k_n = \frac{P_{n-1}\mathbf a_n}{R + \mathbf a_n^\top P_{n-1}\mathbf a_n},\qquad
      \mathbf w_n = \mathbf w_{n-1} + e_n \mathbf k_n \;\text{(eq. 3)},\qquad
      P_n = (I - \mathbf k_n \mathbf a_n^\top) P_{n-1} + q_0 I.

  A new unit enlarges the covariance with a block :math:`p_0 I` for its :math:`d + 1` new
  parameters (zero covariance with the others).

**Pruning (optional, beyond the seed):** the MRAN rule of Lu, Sundararajan & Saratchandran (1997).
Each unit's contribution relative to the largest one,
:math:`r_k = |h_k\phi_k(\mathbf x_n)| / \max_j |h_j\phi_j(\mathbf x_n)|`, is checked on every
sample; a unit with :math:`r_k < \text{prune\_threshold}` for ``prune_window`` consecutive samples
is removed (for :class:`RANEKF`, with its rows and columns of :math:`P`).

Everything is NumPy in float64 on the CPU: learning is sequential (one sample at a time, by
design), so there is no batch for a GPU to work on; :meth:`predict` is vectorised over samples.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import blas

from .checks import check_int, check_number
from .progress import progress

#: Seconds a pass of :meth:`fit` runs before its progress bar appears (shorter passes show none).
PROGRESS_DELAY_S = 1.0

# ---------------------------------------------------------------------------------------------
# Input checks shared by both classes
# ---------------------------------------------------------------------------------------------






_CONTROLLER = None


def one_blas_thread():
    """A context in which BLAS (NumPy's and SciPy's OpenBLAS) runs on one thread.

    A sequential learner calls BLAS on small vectors thousands of times; a second thread costs
    more in coordination than it saves, and on a busy 2-core machine it can make a step 100x
    slower. :meth:`fit` and :meth:`partial_fit` use it (about 16 microseconds a call).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _as_matrix(X, n_features: int | None, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_samples, n_features); got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} features (as when the network started learning); got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return X


def _as_targets(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must be a 1-D array of {n} targets (one per row of X); got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite (no NaN or inf)")
    return y


# ---------------------------------------------------------------------------------------------
# The Kalman gain, and recursive least squares (the linear case of the filter)
# ---------------------------------------------------------------------------------------------


def kalman_gain(P, a, r: float) -> np.ndarray:
    r"""The Kalman gain :math:`\mathbf k = P\mathbf a / (r + \mathbf a^\top P \mathbf a)` for a scalar
    measurement with gradient (or regressor) ``a``, prior covariance ``P`` and noise variance ``r``."""
    P = np.atleast_2d(np.asarray(P, dtype=float))
    a = np.atleast_1d(np.asarray(a, dtype=float))
    if P.shape != (a.size, a.size):
        raise ValueError(f"P must be a square matrix matching a ({a.size} entries); got shape {P.shape}")
    r = check_number("r", r, low=0.0, low_open=True)
    Pa = P @ a
    return Pa / (r + a @ Pa)


def recursive_least_squares(X, y, p0: float = 1e6, r: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Recursive least squares: the Kalman filter for a model that is *linear* in its weights,
    :math:`\hat y = \mathbf x^\top \mathbf w`, one sample at a time.

    Starting from :math:`\mathbf w_0 = 0`, :math:`P_0 = p_0 I`, each row :math:`\mathbf x_n` does
    :math:`\mathbf k_n = P\mathbf x_n / (r + \mathbf x_n^\top P \mathbf x_n)`,
    :math:`\mathbf w \leftarrow \mathbf w + (y_n - \mathbf x_n^\top\mathbf w)\,\mathbf k_n`,
    :math:`P \leftarrow P - \mathbf k_n (P\mathbf x_n)^\top`. After the last row, :math:`\mathbf w` is
    exactly the ridge solution :math:`(X^\top X + (r/p_0) I)^{-1} X^\top \mathbf y`, the batch
    least-squares answer as :math:`p_0 \to \infty`, at :math:`O(d^2)` work per sample. Returns
    ``(w, P)``. (No process noise: the weights are assumed constant.)
    """
    X = _as_matrix(X, None)
    y = _as_targets(y, len(X))
    p0 = check_number("p0", p0, low=0.0, low_open=True)
    r = check_number("r", r, low=0.0, low_open=True)
    d = X.shape[1]
    w = np.zeros(d)
    P = np.eye(d) * p0
    for x_n, y_n in zip(X, y):
        Px = P @ x_n
        k = Px / (r + x_n @ Px)
        w = w + (y_n - x_n @ w) * k
        P = P - np.outer(k, Px)
    return w, P


# ---------------------------------------------------------------------------------------------
# The growing network: what RAN and RAN-EKF share
# ---------------------------------------------------------------------------------------------


class _GrowingRBF:
    """Gaussian RBF network that allocates units on novel samples (see the module docstring).

    Subclasses say how parameters adapt on a sample that is not novel (:meth:`_adapt`) and what
    else must grow or shrink with the units (:meth:`_grow_state`, :meth:`_drop_state`).
    """

    def __init__(self, delta_max, delta_min, tau, epsilon, kappa, prune_threshold, prune_window, max_units):
        self.delta_max = check_number("delta_max", delta_max, low=0.0, low_open=True)
        self.delta_min = check_number("delta_min", delta_min, low=0.0, high=self.delta_max, low_open=True)
        self.tau = check_number("tau", tau, low=0.0, low_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.kappa = check_number("kappa", kappa, low=0.0, low_open=True)
        self.prune_threshold = None if prune_threshold is None else check_number("prune_threshold", prune_threshold, low=0.0, high=1.0, low_open=True)
        self.prune_window = check_int("prune_window", prune_window, 1)
        self.max_units = None if max_units is None else check_int("max_units", max_units, 1)
        self.reset()

    # -- state --------------------------------------------------------------------------------
    def reset(self):
        """Forget everything learned: no units, no samples seen, empty history."""
        self.n_features_ = None
        self.centres_ = None  # (K, d)
        self.widths_ = np.zeros(0)  # (K,)
        self.weights_ = np.zeros(0)  # (K,)
        self.bias_ = 0.0
        self.n_seen_ = 0
        self._low_count = np.zeros(0, dtype=int)  # consecutive samples with r_k below the threshold
        self.history_ = {"n_units": [], "error": [], "novel": [], "pruned": []}
        return self

    @property
    def n_units(self) -> int:
        """Number of Gaussian units now."""
        return len(self.weights_)

    @property
    def n_parameters(self) -> int:
        """Numbers that define the function: per unit a centre (d), a width and a weight; plus the bias."""
        d = self.n_features_ or 0
        return self.n_units * (d + 2) + 1

    def delta(self, n: int | None = None) -> float:
        r"""The resolution :math:`\delta(n) = \max(\delta_{\max} e^{-n/\tau}, \delta_{\min})` (eq. 1's
        threshold) after ``n`` samples (default: the samples seen so far)."""
        n = self.n_seen_ if n is None else n
        return max(self.delta_max * math.exp(-n / self.tau), self.delta_min)

    # -- the network function -----------------------------------------------------------------
    def _activations(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """phi_k(x) and the differences x - c_k for one input x (d,)."""
        diff = x - self.centres_
        return np.exp(-np.einsum("kd,kd->k", diff, diff) / self.widths_**2), diff

    def predict(self, X) -> np.ndarray:
        """Network outputs for the rows of ``X`` (n, d), vectorised in chunks of 4,096 rows."""
        if self.n_features_ is None:
            raise RuntimeError("the network has not seen any sample yet: call partial_fit or fit first")
        X = _as_matrix(X, self.n_features_)
        if self.n_units == 0:
            return np.full(len(X), self.bias_)
        out = np.empty(len(X))
        c2 = np.einsum("kd,kd->k", self.centres_, self.centres_)
        inv_w2 = 1.0 / self.widths_**2
        for start in range(0, len(X), 4096):
            xb = X[start : start + 4096]
            sq = np.einsum("nd,nd->n", xb, xb)[:, None] - 2.0 * xb @ self.centres_.T + c2[None, :]
            out[start : start + 4096] = self.bias_ + np.exp(-np.maximum(sq, 0.0) * inv_w2) @ self.weights_
        return out

    # -- learning -----------------------------------------------------------------------------
    def partial_fit(self, x, y) -> _GrowingRBF:
        """Learn one sample: input ``x`` of shape (d,) (or (1, d)), scalar target ``y``."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 2 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"x must be one input vector of shape (n_features,); got shape {x.shape}")
        if self.n_features_ is not None and x.size != self.n_features_:
            raise ValueError(f"x must have {self.n_features_} features; got {x.size}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x must be finite (no NaN or inf)")
        y_arr = np.asarray(y, dtype=float)
        if y_arr.size != 1:
            raise ValueError(f"y must be one scalar target; got shape {y_arr.shape}")
        y = float(y_arr.reshape(()))
        if not math.isfinite(y):
            raise ValueError("y must be finite (no NaN or inf)")
        with one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):  # divergence is checked
            self._learn_one(x, y)
        return self

    def _learn_one(self, x: np.ndarray, y: float) -> None:
        n = self.n_seen_
        novel, pruned = False, 0
        if self.n_features_ is None:  # the first sample: it sets the bias, nothing else
            self.n_features_ = x.size
            self.centres_ = np.zeros((0, x.size))
            self.bias_ = y
            error = 0.0
        else:
            if self.n_units:
                phi, diff = self._activations(x)
                error = y - (self.bias_ + phi @ self.weights_)
                distance = math.sqrt(float(np.min(np.einsum("kd,kd->k", diff, diff))))
            else:
                phi, diff = np.zeros(0), np.zeros((0, x.size))
                error = y - self.bias_
                distance = math.inf
            delta = self.delta(n)
            room = self.max_units is None or self.n_units < self.max_units
            if distance > delta and abs(error) > self.epsilon and room:  # eq. (1) and eq. (2)
                novel = True
                width = self.kappa * (distance if math.isfinite(distance) else delta)
                self._add_unit(x, error, width)
            elif self.n_units:
                self._adapt(x, error, phi, diff)
            else:
                self._adapt_bias_only(error)
            if self.prune_threshold is not None and self.n_units > 1:
                pruned = self._prune(x)
            if not math.isfinite(self.bias_) or not np.all(np.isfinite(self.weights_)):
                raise FloatingPointError(
                    f"{type(self).__name__} diverged at sample {n}: parameters are no longer finite; "
                    "lower the learning rate (alpha) or, for RAN-EKF, p0 and q0"
                )
        self.n_seen_ = n + 1
        h = self.history_
        h["n_units"].append(self.n_units)
        h["error"].append(error)
        h["novel"].append(novel)
        h["pruned"].append(pruned)

    def fit(self, X, y, epochs: int = 1, reset: bool = True) -> _GrowingRBF:
        """The default protocol: one sequential pass over ``(X, y)`` in the given (time) order,
        each sample learned once with :meth:`partial_fit`, as in Platt (1991) and Kadirkamanathan
        & Niranjan (1993). ``epochs > 1`` repeats the pass (the resolution keeps decaying with the
        samples seen). ``reset=True`` starts from an empty network. Returns ``self``."""
        X = _as_matrix(X, None if reset else self.n_features_)
        y = _as_targets(y, len(X))
        epochs = check_int("epochs", epochs, 1)
        if reset:
            self.reset()
        # A bar for long passes only: it appears after PROGRESS_DELAY_S seconds (tqdm's delay).
        bar = progress(total=epochs * len(X), desc=f"{type(self).__name__} samples", delay=PROGRESS_DELAY_S)
        with bar, one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):  # divergence is checked
            for _ in range(epochs):
                for x_n, y_n in zip(X, y):
                    self._learn_one(x_n, float(y_n))
                    bar.update()
        return self

    def learning_curve(self, window: int = 200) -> tuple[np.ndarray, np.ndarray]:
        """Samples seen and the RMS of the last ``window`` a-priori errors |e_n| (before each update)."""
        window = check_int("window", window, 1)
        e2 = np.asarray(self.history_["error"], dtype=float) ** 2
        if len(e2) == 0:
            return np.zeros(0, dtype=int), np.zeros(0)
        c = np.concatenate([[0.0], np.cumsum(e2)])
        n = np.arange(1, len(e2) + 1)
        lo = np.maximum(n - window, 0)
        return n, np.sqrt((c[n] - c[lo]) / (n - lo))

    # -- growing and shrinking ----------------------------------------------------------------
    def _add_unit(self, x: np.ndarray, error: float, width: float) -> None:
        self.centres_ = np.vstack([self.centres_, x[None, :]])
        self.widths_ = np.append(self.widths_, width)
        self.weights_ = np.append(self.weights_, error)
        self._low_count = np.append(self._low_count, 0)
        self._grow_state()

    def _prune(self, x: np.ndarray) -> int:
        phi, _ = self._activations(x)
        contribution = np.abs(self.weights_ * phi)
        if contribution.max() == 0.0:  # x is far from every unit: no unit is judged on it
            return 0
        r = contribution / contribution.max()
        self._low_count = np.where(r < self.prune_threshold, self._low_count + 1, 0)
        drop = self._low_count >= self.prune_window
        if not drop.any():
            return 0
        keep = ~drop
        self._drop_state(keep)
        self.centres_, self.widths_, self.weights_ = self.centres_[keep], self.widths_[keep], self.weights_[keep]
        self._low_count = self._low_count[keep]
        return int(drop.sum())

    def _adapt_bias_only(self, error: float) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _adapt(self, x, error, phi, diff) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _grow_state(self) -> None:
        """Extra state to enlarge when a unit is added (nothing for LMS)."""

    def _drop_state(self, keep: np.ndarray) -> None:
        """Extra state to shrink when units are pruned (nothing for LMS)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(units={self.n_units}, samples_seen={self.n_seen_})"


#: The two forms of RAN's centre step: the gradient of e^2 / 2, and the form printed in Platt (1991).
CENTRE_UPDATES = ("gradient", "printed")


class RAN(_GrowingRBF):
    r"""Platt's resource-allocating network: grow on novel samples, LMS otherwise.

    Parameters. The defaults are the values this course uses for the Mackey-Glass task. They are
    the values attributed to Platt (1991) for it, but we have not checked them against the paper
    itself; chapter 8 shows how the results move with ``delta_min``, ``epsilon`` and ``tau``:

    ``delta_max=0.7``, ``delta_min=0.07``
        the coarsest and finest resolution of eq. (1), in input units: somewhat below the range
        of the Mackey-Glass inputs, and a tenth of that.
    ``tau=43.0``
        decay time constant of :math:`\delta(n)`, in samples: the per-sample factor
        :math:`0.977` attributed to Kadirkamanathan & Niranjan (1993),
        :math:`\tau = -1/\ln 0.977 \approx 43` (:math:`\delta` reaches :math:`\delta_{\min}`
        after about 100 samples). Chapter 8 tries 17, 500 and 2,000 as well.
    ``epsilon=0.02``
        the error threshold of eq. (2).
    ``kappa=0.87``
        the overlap factor of a new unit's width.
    ``alpha=0.02``
        the LMS learning rate.
    ``centre_update="gradient"``
        the form of the centre step. ``"gradient"`` is the gradient of :math:`\tfrac12 e_n^2`,
        :math:`\Delta\mathbf c_k = \alpha e_n h_k \phi_k\, 2(\mathbf x_n - \mathbf c_k)/w_k^2`;
        ``"printed"`` is the form printed in Platt (1991), with :math:`2/w_k` in place of
        :math:`2/w_k^2` (the same direction, a step shorter by the factor :math:`w_k`). Chapter 8
        compares the two.
    ``prune_threshold=None``, ``prune_window=250``
        MRAN pruning (off by default, as in Platt's RAN): see the module docstring.
    ``max_units=None``
        an optional cap on the number of units (no cap in the papers).
    """

    def __init__(
        self,
        delta_max: float = 0.7,
        delta_min: float = 0.07,
        tau: float = 43.0,
        epsilon: float = 0.02,
        kappa: float = 0.87,
        alpha: float = 0.02,
        centre_update: str = "gradient",
        prune_threshold: float | None = None,
        prune_window: int = 250,
        max_units: int | None = None,
    ):
        self.alpha = check_number("alpha", alpha, low=0.0, high=10.0, low_open=True)
        if centre_update not in CENTRE_UPDATES:
            raise ValueError(f"centre_update must be one of {CENTRE_UPDATES}; got {centre_update!r}")
        self.centre_update = centre_update
        super().__init__(delta_max, delta_min, tau, epsilon, kappa, prune_threshold, prune_window, max_units)

    def _adapt_bias_only(self, error: float) -> None:
        self.bias_ += self.alpha * error

    def _adapt(self, x, error, phi, diff) -> None:
        """One Widrow-Hoff LMS step on e^2 / 2: the gradients use the parameters before the step."""
        alpha_e = self.alpha * error
        if self.centre_update == "gradient":
            grad_centres = (self.weights_ * phi * 2.0 / self.widths_**2)[:, None] * diff  # d y_hat / d c_k
        else:  # "printed": Platt's printed centre step, 2 / w_k where the gradient has 2 / w_k^2
            grad_centres = (self.weights_ * phi * 2.0 / self.widths_)[:, None] * diff
        self.bias_ += alpha_e
        self.weights_ = self.weights_ + alpha_e * phi
        self.centres_ = self.centres_ + alpha_e * grad_centres


class RANEKF(_GrowingRBF):
    r"""RAN-EKF: RAN's growth rule, an extended Kalman filter instead of LMS.

    Kadirkamanathan & Niranjan (1993) arrive at the growth rule from a function-space view of
    sequential learning (a simplified criterion on distance and error, chapter 9 derives it) and
    use the extended Kalman filter as the enhancement that view suggests.

    The filter estimates :math:`\mathbf w = [\gamma, h_1, \mathbf c_1, \dots, h_K, \mathbf c_K]`
    (bias, then per unit its weight and centre; widths stay fixed as in RAN). Parameters, with
    the defaults this course uses (attributed to Kadirkamanathan & Niranjan (1993), not checked
    against the paper itself; see chapter 9):

    ``delta_max=0.7``, ``delta_min=0.07``, ``tau=43.0``, ``kappa=0.87``
        growth, as in :class:`RAN` (K&N keep Platt's values; their per-sample decay
        :math:`\gamma = 0.977` is :math:`\tau \approx 43`).
    ``epsilon=0.02``
        the error threshold of eq. (2).
    ``p0=1.0``
        prior variance of a new unit's parameters (the block :math:`p_0 I` added to :math:`P`),
        also the initial variance of the bias.
    ``r=1.0``
        variance of the measurement noise :math:`R` in the gain.
    ``q0=0.02``
        process noise: :math:`q_0 I` is added to :math:`P` after each update, so that the filter
        keeps adapting (a random-walk model of the parameters).
    ``prune_threshold=None``, ``prune_window=250``, ``max_units=None``
        as in :class:`RAN`.
    """

    def __init__(
        self,
        delta_max: float = 0.7,
        delta_min: float = 0.07,
        tau: float = 43.0,
        epsilon: float = 0.02,
        kappa: float = 0.87,
        p0: float = 1.0,
        r: float = 1.0,
        q0: float = 0.02,
        prune_threshold: float | None = None,
        prune_window: int = 250,
        max_units: int | None = None,
    ):
        self.p0 = check_number("p0", p0, low=0.0, low_open=True)
        self.r = check_number("r", r, low=0.0, low_open=True)
        self.q0 = check_number("q0", q0, low=0.0)
        super().__init__(delta_max, delta_min, tau, epsilon, kappa, prune_threshold, prune_window, max_units)

    def reset(self):
        super().reset()
        # The covariance P, stored Fortran-ordered with only its lower triangle kept up to date,
        # for the BLAS routines dsymv (P a) and dsyr (rank-1 update): they halve the work and
        # update in place, which makes a step many times faster than full NumPy products at 150
        # units. The property P_ gives the full symmetric matrix.
        self._P = np.full((1, 1), self.p0, order="F")  # the bias's variance; grows by a block per unit
        return self

    @property
    def P_(self) -> np.ndarray:
        """The covariance matrix P of the parameter vector (a symmetric copy)."""
        lower = np.tril(self._P)
        return lower + np.tril(lower, -1).T

    # The parameter vector w and its gradient a_n, in the order [gamma, (h_1, c_1), (h_2, c_2), ...].
    def parameter_vector(self) -> np.ndarray:
        """The vector :math:`\\mathbf w` the filter estimates: bias, then each unit's weight and centre."""
        d = self.n_features_ or 0
        blocks = np.concatenate([self.weights_[:, None], self.centres_.reshape(-1, d)], axis=1) if self.n_units else np.zeros((0, d + 1))
        return np.concatenate([[self.bias_], blocks.ravel()])

    def _set_parameter_vector(self, w: np.ndarray) -> None:
        d = self.n_features_
        self.bias_ = float(w[0])
        blocks = w[1:].reshape(self.n_units, d + 1)
        self.weights_ = blocks[:, 0].copy()
        self.centres_ = blocks[:, 1:].copy()

    def gradient(self, x) -> np.ndarray:
        r""":math:`\mathbf a_n = \partial\hat y(\mathbf x)/\partial\mathbf w`: 1 for the bias,
        :math:`\phi_k` for :math:`h_k`, :math:`h_k\phi_k\,2(\mathbf x - \mathbf c_k)/w_k^2` for
        :math:`\mathbf c_k`."""
        x = np.asarray(x, dtype=float)
        if self.n_units == 0:
            return np.ones(1)
        phi, diff = self._activations(x)
        return self._gradient(phi, diff)

    def _gradient(self, phi, diff) -> np.ndarray:
        grad_c = (self.weights_ * phi * 2.0 / self.widths_**2)[:, None] * diff
        return np.concatenate([[1.0], np.concatenate([phi[:, None], grad_c], axis=1).ravel()])

    def _kalman_step(self, a: np.ndarray, error: float) -> np.ndarray:
        """One EKF step for the gradient a and the a-priori error e; updates P, returns e * k.

        With s = R + a^T P a and k = P a / s, the update (I - k a^T) P equals P - (P a)(P a)^T / s
        (P is symmetric): a symmetric rank-1 update, done in place by BLAS dsyr.
        """
        Pa = blas.dsymv(1.0, self._P, a, lower=1)  # P a
        s = self.r + a @ Pa
        k = Pa / s  # the Kalman gain
        self._P = blas.dsyr(-1.0 / s, Pa, a=self._P, lower=1, overwrite_a=1)  # (I - k a^T) P
        idx = np.arange(len(a))
        self._P[idx, idx] += self.q0  # + q0 I
        return error * k

    def _adapt_bias_only(self, error: float) -> None:
        self.bias_ += float(self._kalman_step(np.ones(1), error)[0])

    def _adapt(self, x, error, phi, diff) -> None:
        a = self._gradient(phi, diff)
        self._set_parameter_vector(self.parameter_vector() + self._kalman_step(a, error))  # eq. (3)

    def _grow_state(self) -> None:
        d1 = self.n_features_ + 1
        m = self._P.shape[0]
        P = np.zeros((m + d1, m + d1), order="F")
        P[:m, :m] = self._P
        P[m:, m:] = self.p0 * np.eye(d1)
        self._P = P

    def _drop_state(self, keep: np.ndarray) -> None:
        d1 = self.n_features_ + 1
        rows = np.concatenate([[True], np.repeat(keep, d1)])
        self._P = np.asfortranarray(self._P[np.ix_(rows, rows)])
