r"""Two-dimensional test surfaces for watching optimizers move, with exact gradients and minima.

Each surface is a callable object: ``surface(theta)`` takes a tensor whose last dimension holds
the coordinates (a point of shape ``(2,)``, or a whole grid of shape ``(..., 2)``) and returns
the value(s), built from torch operations so that autograd and every ``torch.optim``-style
optimizer can run on it. ``surface.grad(theta)`` is the gradient written out by hand (the tests
check it against autograd), and ``surface.minima`` lists the known minimisers.

* :class:`IllConditionedQuadratic`: :math:`\tfrac12\sum_i h_i\theta_i^2`, curvatures from
  :math:`\mu` to :math:`L = \kappa\mu` (the condition number :math:`\kappa` is a parameter);
* :class:`Rosenbrock`: a long curved valley;
* :class:`Beale`: flat plateaus and steep walls;
* :class:`Saddle`: a saddle point between two minima;
* :class:`Himmelblau`: four minima of equal value.

:func:`optimize` runs an optimizer on a surface and stops with a readable message if it diverges;
:func:`plot_contours` draws a surface in the course style.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .checks import check_fits_in_memory, check_int, check_number

__all__ = [
    "Surface",
    "IllConditionedQuadratic",
    "Rosenbrock",
    "Beale",
    "Saddle",
    "Himmelblau",
    "SURFACES",
    "Run",
    "optimize",
    "plot_contours",
]


def _as_points(theta) -> torch.Tensor:
    """Accept a tensor, a sequence or an array; float64 unless a floating tensor is given."""
    if isinstance(theta, torch.Tensor):
        return theta if theta.is_floating_point() else theta.to(torch.float64)
    return torch.as_tensor(theta, dtype=torch.float64)


class Surface:
    """A function of two variables (or ``dim``), its gradient, and what is known about it.

    Attributes: ``name``; ``minima``, a list of minimisers (tuples); ``min_value``, the value there;
    ``bounds``, ``((x_low, x_high), (y_low, y_high))`` for plots; ``start``, a customary start point.
    """

    name: str = "surface"
    dim: int = 2
    minima: list[tuple[float, ...]] = []
    min_value: float = 0.0
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((-2.0, 2.0), (-2.0, 2.0))
    start: tuple[float, ...] = (1.0, 1.0)

    def value(self, theta: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, theta: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, theta) -> torch.Tensor:
        theta = _as_points(theta)
        if theta.ndim == 0 or theta.shape[-1] != self.dim:
            raise ValueError(f"theta must have {self.dim} coordinates in its last dimension; got shape {tuple(theta.shape)}")
        return theta

    def __call__(self, theta) -> torch.Tensor:
        return self.value(self._check(theta))

    def gradient(self, theta) -> torch.Tensor:
        """The hand-written gradient, with the input checked (``grad`` skips the check)."""
        return self.grad(self._check(theta))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class IllConditionedQuadratic(Surface):
    r""":math:`f(\theta) = \tfrac12 \sum_i h_i \theta_i^2` with curvatures :math:`h_i` spread
    geometrically from ``mu`` to ``L = condition_number * mu``.

    The Hessian is ``diag(h)``; its condition number :math:`\kappa = L/\mu` decides how fast
    gradient descent (chapter 1) and momentum (chapter 2) converge. Minimum 0 at the origin.
    """

    def __init__(self, condition_number: float = 10.0, dim: int = 2, mu: float = 1.0):
        check_number("condition_number", condition_number, low=1)
        check_int("dim", dim, 1)
        check_number("mu", mu, low=0, low_open=True)
        if not math.isfinite(float(mu) * float(condition_number)):
            raise ValueError(f"mu * condition_number (the largest curvature L) must be finite; got mu={mu!r}, condition_number={condition_number!r}")
        check_fits_in_memory(f"IllConditionedQuadratic(dim={dim})", 3 * 8 * dim)
        self.kappa = float(condition_number)
        self.dim = dim
        self.mu = float(mu)
        self.L = self.kappa * self.mu
        if dim == 1:
            self.curvatures = torch.tensor([self.mu], dtype=torch.float64)
        else:
            self.curvatures = self.mu * self.kappa ** torch.linspace(0.0, 1.0, dim, dtype=torch.float64)
            self.curvatures[-1] = self.L  # exact, whatever the rounding of the power
        self.name = f"quadratic, kappa = {self.kappa:g}"
        self.minima = [(0.0,) * dim]
        self.min_value = 0.0
        self.start = (1.0,) * dim
        half = 1.5
        self.bounds = ((-half, half), (-half, half))

    def hessian(self) -> torch.Tensor:
        """``diag(h)``: constant, since ``f`` is quadratic."""
        return torch.diag(self.curvatures)

    def value(self, theta):
        h = self.curvatures.to(theta)
        return 0.5 * (h * theta**2).sum(-1)

    def grad(self, theta):
        return self.curvatures.to(theta) * theta

    def __repr__(self) -> str:
        return f"IllConditionedQuadratic(condition_number={self.kappa:g}, dim={self.dim}, mu={self.mu:g})"


class Rosenbrock(Surface):
    r""":math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`; minimum 0 at :math:`(a, a^2)`.

    The minimum lies at the bottom of a narrow, curved, almost flat valley: easy to find the
    valley, slow to follow it.
    """

    def __init__(self, a: float = 1.0, b: float = 100.0):
        check_number("b", b, low=0, low_open=True)
        check_number("a", a)
        self.a, self.b = float(a), float(b)
        self.name = "Rosenbrock"
        self.minima = [(self.a, self.a**2)]
        self.min_value = 0.0
        self.bounds = ((-2.0, 2.0), (-1.0, 3.0))
        self.start = (-1.5, 2.0)

    def value(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def grad(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        dx = -2 * (self.a - x) - 4 * self.b * x * (y - x**2)
        dy = 2 * self.b * (y - x**2)
        return torch.stack([dx, dy], dim=-1)

    def __repr__(self) -> str:
        return f"Rosenbrock(a={self.a:g}, b={self.b:g})"


class Beale(Surface):
    r""":math:`f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`;
    minimum 0 at :math:`(3, 0.5)`. Flat regions next to very steep ones: gradient magnitudes
    differ by orders of magnitude across the plane."""

    name = "Beale"
    minima = [(3.0, 0.5)]
    min_value = 0.0
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    start = (1.0, 1.5)
    _c = (1.5, 2.25, 2.625)

    def __init__(self):
        self._constants: dict = {}

    def _residuals(self, theta):
        """r_k = c_k - x + x y^k for k = 1, 2, 3 (last dimension), and the powers y^k."""
        x, y = theta[..., 0:1], theta[..., 1:2]
        key = (theta.dtype, theta.device)
        if key not in self._constants:  # made once per dtype and device: small tensors are costly to build
            self._constants[key] = (
                torch.tensor(self._c, dtype=theta.dtype, device=theta.device),
                torch.arange(1, 4, dtype=theta.dtype, device=theta.device),
            )
        c, k = self._constants[key]
        y_k = y**k
        return c - x + x * y_k, y_k, k

    def value(self, theta):
        r, _, _ = self._residuals(theta)
        return (r**2).sum(-1)

    def grad(self, theta):
        r, y_k, k = self._residuals(theta)
        x, y = theta[..., 0:1], theta[..., 1:2]
        dx = (2 * r * (y_k - 1)).sum(-1)  # d r_k / dx = y^k - 1
        dy = (2 * r * k * x * y ** (k - 1)).sum(-1)  # d r_k / dy = k x y^(k-1)
        return torch.stack([dx, dy], dim=-1)


class Saddle(Surface):
    r""":math:`f(x, y) = \tfrac12 x^2 + \tfrac14 y^4 - \tfrac12 y^2`.

    A saddle point at the origin (curvature :math:`+1` along :math:`x`, :math:`-1` along :math:`y`)
    between two minima at :math:`(0, \pm 1)` with value :math:`-\tfrac14`. Started close to the
    line :math:`y = 0`, an optimizer first slides towards the saddle, where the gradient is tiny,
    and must then escape along :math:`y`.
    """

    name = "saddle"
    minima = [(0.0, 1.0), (0.0, -1.0)]
    saddle_points = [(0.0, 0.0)]
    min_value = -0.25
    bounds = ((-2.0, 2.0), (-1.5, 1.5))
    start = (1.8, 1e-3)

    def value(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        return 0.5 * x**2 + 0.25 * y**4 - 0.5 * y**2

    def grad(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        return torch.stack([x, y**3 - y], dim=-1)


class Himmelblau(Surface):
    r""":math:`f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`: four minima, all with value 0.

    One is :math:`(3, 2)`; the other three have no closed form and are listed to 1e-12 (found by
    Newton's method; the tests check the gradient vanishes there). Which one an optimizer finds
    depends on where it starts and how it moves.
    """

    name = "Himmelblau"
    minima = [
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286169),
        (3.5844283403304917, -1.8481265269644036),
    ]
    min_value = 0.0
    bounds = ((-5.0, 5.0), (-5.0, 5.0))
    start = (0.0, 0.0)

    def value(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        r1, r2 = x**2 + y - 11, x + y**2 - 7
        return torch.stack([4 * x * r1 + 2 * r2, 2 * r1 + 4 * y * r2], dim=-1)


#: One instance of each surface, by short name (the quadratic with condition number 10).
SURFACES: dict[str, Surface] = {
    "quadratic": IllConditionedQuadratic(10.0),
    "rosenbrock": Rosenbrock(),
    "beale": Beale(),
    "saddle": Saddle(),
    "himmelblau": Himmelblau(),
}


@dataclass
class Run:
    """The result of :func:`optimize`: the points visited (``points[0]`` is the start), the values
    there, and, if the run diverged, the step at which it stopped and a message saying why."""

    points: torch.Tensor
    values: torch.Tensor
    diverged_at: int | None = None
    message: str = ""

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def distance_to_nearest_minimum(self, surface: Surface) -> float:
        """Euclidean distance from the last point to the closest known minimiser."""
        last = self.points[-1]
        return min(math.dist(last.tolist(), m) for m in surface.minima)


def optimize(
    surface: Surface,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    start: Sequence[float] | None = None,
    n_steps: int = 100,
    blow_up: float = 1e6,
) -> Run:
    """Run ``make_optimizer([theta])`` for ``n_steps`` steps on ``surface`` from ``start``.

    ``make_optimizer`` receives the parameter list, e.g. ``lambda p: SGD(p, lr=0.01)``; each step
    hands it the surface's exact gradient in ``theta.grad`` (no autograd graph, so a step is cheap).
    The run stops early, with a message instead of NaNs, as soon as a value is not finite or exceeds
    ``blow_up`` times the starting gap to the minimum (plus one); ``points`` then ends at the last
    finite point.
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a Surface (such as Rosenbrock()); got {type(surface).__name__}")
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be a callable params -> optimizer, e.g. lambda p: SGD(p, lr=0.01); got {type(make_optimizer).__name__}")
    n_steps = check_int("n_steps", n_steps, 0)
    check_number("blow_up", blow_up, low=1, low_open=True)
    check_fits_in_memory(f"optimize(n_steps={n_steps}) on a {surface.dim}-dimensional surface", 8.0 * (n_steps + 1) * (surface.dim + 1))
    start = surface.start if start is None else start
    theta = surface._check(start).detach().clone().to(torch.float64)
    if theta.ndim != 1 or not bool(torch.isfinite(theta).all()):
        raise ValueError(f"start must be one finite point of {surface.dim} coordinates; got {start!r}")
    optimizer = make_optimizer([theta])
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"make_optimizer must return an optimizer (with a step() method); got {type(optimizer).__name__}")
    points = torch.empty(n_steps + 1, surface.dim, dtype=torch.float64)
    values = torch.empty(n_steps + 1, dtype=torch.float64)
    points[0], values[0] = theta, surface.value(theta)
    limit = blow_up * (abs(values[0].item() - surface.min_value) + 1.0)
    for step in range(1, n_steps + 1):
        theta.grad = surface.grad(theta)  # the exact gradient (equal to autograd's, see the tests)
        optimizer.step()
        value = surface.value(theta).item()
        if not math.isfinite(value) or abs(value - surface.min_value) > limit or not torch.isfinite(theta).all():
            shown = "a non-finite value" if not math.isfinite(value) else f"{value:.4g}"
            message = (
                f"diverged at step {step}: f grew from {values[0].item():.4g} to {shown}; stopped there "
                f"(try a smaller learning rate)"
            )
            return Run(points[:step].clone(), values[:step].clone(), step, message)
        points[step], values[step] = theta, value
    return Run(points, values)


def plot_contours(ax, surface: Surface, n: int = 200, levels: int = 25, show_minima: bool = True, label_every: int = 0):
    """Filled contour lines of ``surface`` over its ``bounds`` on ``ax``, log-spaced above the minimum
    (so that both the steep walls and the flat floor show), with the minima as stars.

    The lines are level sets of the gap ``f - f*``. ``label_every=k`` (k >= 1) writes the gap's value
    on every k-th line (``ax.clabel``); 0, the default, leaves them unlabelled."""
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a Surface (such as Rosenbrock()); got {type(surface).__name__}")
    if surface.dim != 2:
        raise ValueError(f"plot_contours draws two-dimensional surfaces; this one has dim={surface.dim}")
    n = check_int("n", n, 2)
    check_int("levels", levels, 2)
    label_every = check_int("label_every", label_every, 0)
    check_fits_in_memory(f"plot_contours(n={n})", 8 * 8.0 * n * n)
    (x0, x1), (y0, y1) = surface.bounds
    xs = torch.linspace(x0, x1, n, dtype=torch.float64)
    ys = torch.linspace(y0, y1, n, dtype=torch.float64)
    X, Y = torch.meshgrid(xs, ys, indexing="xy")
    Z = surface.value(torch.stack([X, Y], dim=-1)) - surface.min_value
    gap = Z.clamp_min(0)
    low = max(float(gap[gap > 0].min()), float(gap.max()) * 1e-6)
    lv = torch.logspace(math.log10(low), math.log10(float(gap.max())), levels).tolist()
    lines = ax.contour(X.numpy(), Y.numpy(), gap.numpy(), levels=lv, colors="0.6", linewidths=0.6)
    if label_every:
        ax.clabel(lines, lines.levels[::label_every], inline=True, fontsize=6, fmt=lambda gap: f"{gap:.2g}")
    if show_minima:
        for m in surface.minima:
            ax.plot(*m, marker="*", color="black", markersize=10, linestyle="none")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(surface.name)
    return ax
