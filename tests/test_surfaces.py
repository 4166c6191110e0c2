"""The test surfaces: hand-written gradients against autograd, known minima, vectorised values,
and the optimize() helper (convergence, readable divergence, parity of optimizers)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.autograd.functional import hessian  # noqa: E402

from effdnn_lib import optim  # noqa: E402
from effdnn_lib.surfaces import (  # noqa: E402
    SURFACES,
    Beale,
    Himmelblau,
    IllConditionedQuadratic,
    Rosenbrock,
    Saddle,
    optimize,
    plot_contours,
)

ALL = [
    IllConditionedQuadratic(10.0),
    IllConditionedQuadratic(1000.0, dim=5, mu=0.5),
    Rosenbrock(),
    Rosenbrock(a=2.0, b=10.0),
    Beale(),
    Saddle(),
    Himmelblau(),
]
IDS = [repr(s) for s in ALL]


def random_points(surface, n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    (x0, x1), (y0, y1) = surface.bounds
    u = torch.rand(n, surface.dim, generator=g, dtype=torch.float64)
    low = torch.tensor([x0] + [y0] * (surface.dim - 1), dtype=torch.float64)
    high = torch.tensor([x1] + [y1] * (surface.dim - 1), dtype=torch.float64)
    return low + u * (high - low)


@pytest.mark.parametrize("surface", ALL, ids=IDS)
def test_gradient_matches_autograd(surface):
    for point in random_points(surface):
        theta = point.clone().requires_grad_(True)
        surface(theta).backward()
        torch.testing.assert_close(surface.gradient(point), theta.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("surface", ALL, ids=IDS)
def test_known_minima_are_minima(surface):
    for m in surface.minima:
        m = torch.tensor(m, dtype=torch.float64)
        assert surface(m).item() == pytest.approx(surface.min_value, abs=1e-12)
        assert surface.gradient(m).abs().max().item() < 1e-10
        eigenvalues = torch.linalg.eigvalsh(hessian(surface.value, m))
        assert eigenvalues.min().item() > 0, "the Hessian at a minimum is positive definite"
    # and nothing in the plotted box is lower
    grid = random_points(surface, n=20_000, seed=1)
    assert surface(grid).min().item() >= surface.min_value - 1e-12


def test_saddle_point_is_a_saddle():
    s = Saddle()
    (p,) = s.saddle_points
    p = torch.tensor(p, dtype=torch.float64)
    assert s.gradient(p).abs().max().item() == 0.0
    eig = torch.linalg.eigvalsh(hessian(s.value, p))
    assert eig.min().item() < 0 < eig.max().item()


def test_himmelblau_has_four_distinct_minima_and_3_2_is_exact():
    h = Himmelblau()
    assert len(h.minima) == 4 and h.minima[0] == (3.0, 2.0)
    assert min(math.dist(a, b) for i, a in enumerate(h.minima) for b in h.minima[i + 1 :]) > 1


@pytest.mark.parametrize("surface", ALL, ids=IDS)
def test_values_are_vectorised_over_grids(surface):
    pts = random_points(surface, n=12).reshape(3, 4, surface.dim)
    grid_values = surface(pts)
    assert grid_values.shape == (3, 4)
    pointwise = torch.stack([surface(p) for p in pts.reshape(-1, surface.dim)]).reshape(3, 4)
    torch.testing.assert_close(grid_values, pointwise)
    assert surface.gradient(pts).shape == pts.shape


def test_quadratic_curvatures_and_condition_number():
    q = IllConditionedQuadratic(100.0, dim=4, mu=2.0)
    eig = torch.linalg.eigvalsh(q.hessian())
    assert eig.min().item() == pytest.approx(2.0) and eig.max().item() == pytest.approx(200.0)
    assert (eig.max() / eig.min()).item() == pytest.approx(100.0)
    assert (q.mu, q.L, q.kappa) == (2.0, 200.0, 100.0)
    theta = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    assert q(theta).item() == pytest.approx(0.5 * theta @ q.hessian() @ theta)


@pytest.mark.parametrize(
    "make,error",
    [
        (lambda: IllConditionedQuadratic(0.5), ValueError),
        (lambda: IllConditionedQuadratic(10, dim=0), ValueError),
        (lambda: IllConditionedQuadratic(10, mu=0), ValueError),
        (lambda: Rosenbrock(b=-1), ValueError),
        (lambda: Rosenbrock(a="1"), TypeError),
    ],
)
def test_bad_surface_arguments(make, error):
    with pytest.raises(error):
        make()


def test_wrong_number_of_coordinates_is_refused():
    with pytest.raises(ValueError, match="coordinates"):
        Beale()(torch.zeros(3))
    with pytest.raises(ValueError, match="coordinates"):
        Rosenbrock()(torch.tensor(1.0))


def test_surfaces_accept_lists_and_float32():
    assert Beale()([3.0, 0.5]).item() == 0.0
    assert Rosenbrock()(torch.tensor([1.0, 1.0])).dtype == torch.float32


def test_gradient_descent_converges_on_the_quadratic_at_the_predicted_rate():
    q = IllConditionedQuadratic(10.0)
    lr = 2 / (q.mu + q.L)  # the best constant step: every error shrinks by (kappa - 1) / (kappa + 1)
    run = optimize(q, lambda p: optim.SGD(p, lr=lr), start=(1.0, 1.0), n_steps=40)
    assert not run.diverged
    rate = (q.kappa - 1) / (q.kappa + 1)
    norms = run.points.norm(dim=1)
    torch.testing.assert_close(norms[1:] / norms[:-1], torch.full((40,), rate, dtype=torch.float64))


def test_divergence_stops_with_a_message_and_no_nans():
    q = IllConditionedQuadratic(10.0)
    run = optimize(q, lambda p: optim.SGD(p, lr=2.5 / q.L), n_steps=1000)
    assert run.diverged and run.diverged_at < 1000
    assert "diverged at step" in run.message
    assert torch.isfinite(run.points).all() and torch.isfinite(run.values).all()
    assert len(run.points) == run.diverged_at


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "saddle", "himmelblau"])
@pytest.mark.parametrize("opt", ["SGD", "Adagrad", "RMSprop", "Adadelta"])
def test_course_and_torch_optimizers_trace_the_same_path(name, opt):
    surface = SURFACES[name]
    lr = {"SGD": 1e-3, "Adagrad": 0.3, "RMSprop": 0.01, "Adadelta": 1.0}[opt]
    mine = optimize(surface, lambda p: getattr(optim, opt)(p, lr=lr), n_steps=200)
    ref = optimize(surface, lambda p: getattr(torch.optim, opt)(p, lr=lr), n_steps=200)
    assert mine.diverged_at == ref.diverged_at
    torch.testing.assert_close(mine.points, ref.points, rtol=1e-12, atol=1e-12)


def test_optimize_finds_the_rosenbrock_minimum_with_momentum():
    run = optimize(Rosenbrock(), lambda p: optim.SGD(p, lr=1e-3, momentum=0.9), n_steps=3000)
    assert run.distance_to_nearest_minimum(Rosenbrock()) < 1e-2


def test_optimize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_steps"):
        optimize(Beale(), lambda p: optim.SGD(p, lr=0.1), n_steps=-1)
    with pytest.raises(ValueError, match="blow_up"):
        optimize(Beale(), lambda p: optim.SGD(p, lr=0.1), blow_up=0.5)


@pytest.mark.parametrize("name", list(SURFACES))
def test_plot_contours_draws_every_surface(name):
    fig, ax = plt.subplots()
    plot_contours(ax, SURFACES[name])
    assert ax.get_title() == SURFACES[name].name
    plt.close(fig)


def test_plot_contours_labels_every_kth_line():
    fig, ax = plt.subplots()
    plot_contours(ax, SURFACES["rosenbrock"], n=40, levels=12, label_every=4)
    assert len(ax.texts) >= 1  # the gap's value written on some lines
    fig2, ax2 = plt.subplots()
    plot_contours(ax2, SURFACES["rosenbrock"], n=40, levels=12)
    assert len(ax2.texts) == 0
    plt.close(fig)
    plt.close(fig2)
