r"""Two batch baselines for the sequential learners of :mod:`effdnn_lib.ran` (chapters 8 and 9).

:class:`KMeansRBF`
    A fixed Gaussian RBF network in the manner of Moody & Darken (1989): the centres are the
    k-means cluster centres of the training inputs, each width is ``overlap`` times the distance
    from its centre to the nearest other centre (RAN's rule), and the output weights and bias
    solve a linear least-squares problem, :math:`\min_{\mathbf h, \gamma}
    \lVert \Phi \mathbf h + \gamma - \mathbf y\rVert^2 + \lambda \lVert \mathbf h\rVert^2`.
    It sees all the data at once and several times (k-means iterations), unlike RAN.
:class:`MLPRegressor`
    A tanh multi-layer perceptron trained with ``torch.optim.Adam`` on mini-batches, inputs and
    targets standardised with the training set's statistics. It runs on the device that
    :func:`effdnn_lib.device.get_device` chooses.

Both have ``fit(X, y)`` (returns self), ``predict(X)`` and ``n_parameters``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .device import get_device
from .checks import check_int, check_number
from .progress import progress
from .ran import _as_matrix, _as_targets, one_blas_thread


class KMeansRBF:
    r"""Gaussian RBF network with k-means centres and least-squares output weights.

    ``n_centres`` units; ``overlap`` scales each width (distance to the nearest other centre);
    ``ridge`` sets the small L2 penalty :math:`\lambda = \text{ridge} \cdot n_\text{samples}` on the
    output weights that keeps the least-squares problem well posed; ``seed`` seeds k-means
    (scikit-learn's ``KMeans``).
    """

    def __init__(self, n_centres: int = 150, overlap: float = 0.87, ridge: float = 1e-8, seed: int = 0):
        self.n_centres = check_int("n_centres", n_centres, 1)
        self.overlap = check_number("overlap", overlap, low=0.0, low_open=True)
        self.ridge = check_number("ridge", ridge, low=0.0)
        self.seed = check_int("seed", seed, 0)
        self.centres_ = None

    @property
    def n_units(self) -> int:
        return 0 if self.centres_ is None else len(self.centres_)

    @property
    def n_parameters(self) -> int:
        """Centres, widths and weights of every unit, plus the bias (as for RAN)."""
        return 0 if self.centres_ is None else self.n_units * (self.centres_.shape[1] + 2) + 1

    def design_matrix(self, X) -> np.ndarray:
        """The activations :math:`\\Phi_{nk} = \\exp(-\\lVert x_n - c_k\\rVert^2 / w_k^2)`."""
        X = _as_matrix(X, self.centres_.shape[1])
        sq = (X**2).sum(1)[:, None] - 2.0 * X @ self.centres_.T + (self.centres_**2).sum(1)[None, :]
        return np.exp(-np.maximum(sq, 0.0) / self.widths_**2)

    def fit(self, X, y) -> KMeansRBF:
        """k-means centres (one thread; scikit-learn's ``KMeans``, one initialisation), then
        :meth:`fit_output`."""
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        X = _as_matrix(X, None)
        y = _as_targets(y, len(X))
        if self.n_centres > len(X):
            raise ValueError(f"n_centres must be <= the number of samples ({len(X)}); got {self.n_centres}")
        with threadpool_limits(limits=1), one_blas_thread():  # small problem: threads cost more than they save
            self.centres_ = KMeans(n_clusters=self.n_centres, n_init=1, random_state=self.seed).fit(X).cluster_centers_
        return self.fit_output(X, y)

    def fit_output(self, X, y, overlap: float | None = None) -> KMeansRBF:
        """Keep the centres; set the widths (``overlap`` times the distance to the nearest other
        centre; default: the constructor's) and solve for the output weights and bias."""
        if self.centres_ is None:
            raise RuntimeError("call fit first: fit_output reuses its centres")
        if overlap is not None:
            self.overlap = check_number("overlap", overlap, low=0.0, low_open=True)
        X = _as_matrix(X, self.centres_.shape[1])
        y = _as_targets(y, len(X))
        if self.n_units > 1:
            d2 = ((self.centres_[:, None, :] - self.centres_[None, :, :]) ** 2).sum(-1)
            np.fill_diagonal(d2, np.inf)
            nearest = np.sqrt(d2.min(1))
        else:
            nearest = np.array([np.sqrt(((X - self.centres_) ** 2).sum(1).max())])
        self.widths_ = self.overlap * np.maximum(nearest, 1e-12)
        Phi = self.design_matrix(X)
        A = np.hstack([Phi, np.ones((len(X), 1))])
        reg = self.ridge * len(X) * np.eye(A.shape[1])
        reg[-1, -1] = 0.0  # the bias is not penalised
        solution = np.linalg.solve(A.T @ A + reg, A.T @ y)
        self.weights_, self.bias_ = solution[:-1], float(solution[-1])
        return self

    def predict(self, X) -> np.ndarray:
        if self.centres_ is None:
            raise RuntimeError("call fit before predict")
        return self.design_matrix(X) @ self.weights_ + self.bias_


class MLPRegressor:
    """A tanh MLP trained with Adam on the mean squared error.

    ``hidden`` widths of the hidden layers; ``lr`` Adam's step size; ``epochs`` passes over the
    training set in shuffled mini-batches of ``batch_size``; ``seed`` seeds initialisation and
    shuffling. Inputs and the target are standardised with the training set's mean and standard
    deviation, and predictions are mapped back.
    """

    def __init__(self, hidden=(32, 32), lr: float = 1e-2, epochs: int = 200, batch_size: int = 256, seed: int = 0):
        if not isinstance(hidden, (tuple, list)) or not hidden:
            raise TypeError(f"hidden must be a non-empty tuple of ints; got {hidden!r}")
        self.hidden = tuple(check_int("hidden", h, 1) for h in hidden)
        self.lr = check_number("lr", lr, low=0.0, high=10.0, low_open=True)
        self.epochs = check_int("epochs", epochs, 1)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.seed = check_int("seed", seed, 0)
        self.model_ = None
        self.loss_history_: list[float] = []

    @property
    def n_parameters(self) -> int:
        return 0 if self.model_ is None else sum(p.numel() for p in self.model_.parameters())

    def fit(self, X, y) -> MLPRegressor:
        X = _as_matrix(X, None)
        y = _as_targets(y, len(X))
        device = get_device()
        gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        self.x_mean_, self.x_std_ = X.mean(0), X.std(0) + 1e-12
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std() + 1e-12)
        Xt = torch.tensor((X - self.x_mean_) / self.x_std_, dtype=torch.float32, device=device)
        yt = torch.tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32, device=device)
        layers, width = [], X.shape[1]
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.model_ = nn.Sequential(*layers).to(device)
        opt = torch.optim.Adam(self.model_.parameters(), lr=self.lr)
        n = len(Xt)
        self.loss_history_ = []
        for _ in progress(range(self.epochs), desc="MLP epochs", delay=1.0):  # a bar only if it takes over a second
            order = torch.randperm(n, generator=gen).to(device)
            total = torch.zeros((), device=device)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                opt.zero_grad()
                loss = nn.functional.mse_loss(self.model_(Xt[idx])[:, 0], yt[idx])
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
            epoch_loss = total.item() / n  # one device synchronisation per epoch
            if not math.isfinite(epoch_loss):
                raise FloatingPointError(f"MLP training diverged (loss {epoch_loss}); lower lr (now {self.lr})")
            self.loss_history_.append(epoch_loss)
        return self

    def predict(self, X) -> np.ndarray:
        if self.model_ is None:
            raise RuntimeError("call fit before predict")
        X = _as_matrix(X, len(self.x_mean_))
        device = next(self.model_.parameters()).device
        with torch.no_grad():
            xt = torch.tensor((X - self.x_mean_) / self.x_std_, dtype=torch.float32, device=device)
            out = self.model_(xt)[:, 0].cpu().numpy().astype(float)
        return out * self.y_std_ + self.y_mean_
