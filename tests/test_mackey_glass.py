"""The Mackey-Glass generator (RK4 with an interpolated delay), the t+85 task and the error measure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from effdnn_lib.data import mackey_glass, mackey_glass_prediction, normalized_error
from effdnn_lib.data.mackey_glass_series import HORIZON, LAGS, MG_A, MG_B, MG_TAU, MG_X0, delay_embedding

A, B, TAU, X0 = MG_A, MG_B, MG_TAU, MG_X0


@pytest.mark.parametrize("history", ["constant", "zero"])
def test_rk4_converges_at_fourth_order(history):
    # On a smooth stretch (t <= 100, before chaos amplifies rounding), halving h divides the
    # error against a much finer step by about 2^4 = 16.
    _, ref = mackey_glass(100.0, h=1 / 64, history=history)
    errors = [np.abs(mackey_glass(100.0, h=h, history=history)[1] - ref).max() for h in (0.5, 0.25, 0.125)]
    ratios = [errors[i] / errors[i + 1] for i in range(2)]
    assert all(14.0 < r < 18.0 for r in ratios), ratios
    orders = [math.log2(r) for r in ratios]
    assert all(abs(p - 4) < 0.2 for p in orders), orders


def test_first_delay_interval_matches_closed_form():
    # For 0 <= t <= tau the delayed term is the constant history x0, so the equation is linear:
    # x(t) = c/b + (x0 - c/b) exp(-b t) with c = a x0 / (1 + x0^10).
    t, x = mackey_glass(TAU, h=0.1, sample_every=0.1)
    c = A * X0 / (1 + X0**10)
    exact = c / B + (X0 - c / B) * np.exp(-B * t)
    assert np.abs(x - exact).max() < 1e-10
    # With the zero history the delayed term vanishes before t = tau: pure decay.
    t, x = mackey_glass(TAU, h=0.1, history="zero", sample_every=0.1)
    assert np.abs(x - X0 * np.exp(-B * t)).max() < 1e-10


def test_second_delay_interval_matches_an_independent_solver():
    # On [tau, 2 tau] the delayed value x(t - tau) is the closed form of the first interval, so
    # the delay equation becomes an ODE that SciPy's adaptive solver integrates independently.
    c = A * X0 / (1 + X0**10)

    def first(s):
        return c / B + (X0 - c / B) * np.exp(-B * s)

    def rhs(t, y):
        d = first(t - TAU)
        return [A * d / (1 + d**10) - B * y[0]]

    t_eval = np.arange(TAU, 2 * TAU + 1e-9, 1.0)
    sol = solve_ivp(rhs, (TAU, 2 * TAU), [first(TAU)], t_eval=t_eval, rtol=1e-12, atol=1e-13, method="DOP853")
    t, x = mackey_glass(2 * TAU, h=0.1)
    ours = x[np.rint(t).astype(int) >= 17]
    assert np.abs(ours - sol.y[0]).max() < 1e-9


def test_zero_history_break_point_keeps_fourth_order_across_two_delays():
    # The jump of the delayed term at t = tau is a grid point: errors after t = 2 tau still scale as h^4.
    _, ref = mackey_glass(60.0, h=1 / 64, history="zero")
    e1 = np.abs(mackey_glass(60.0, h=0.25, history="zero")[1] - ref)[35:].max()
    e2 = np.abs(mackey_glass(60.0, h=0.125, history="zero")[1] - ref)[35:].max()
    assert 14.0 < e1 / e2 < 18.0


def test_series_is_chaotic_but_bounded():
    _, x = mackey_glass(3000.0)
    tail = x[1000:]
    assert 0.3 < tail.min() < 0.5 and 1.2 < tail.max() < 1.4
    # sensitive dependence: a 1e-6 change of x0 grows to a visible difference within 1,500 time units
    _, x2 = mackey_glass(3000.0, x0=X0 + 1e-6)
    assert np.abs(x[:200] - x2[:200]).max() < 1e-4
    assert np.abs(x[1500:] - x2[1500:]).max() > 0.1


def test_prediction_task_windows_and_embedding():
    task = mackey_glass_prediction(n_train=300, n_test=50, t_start=1000, gap=100)
    assert task.X_train.shape == (300, 4) and task.X_test.shape == (50, 4)
    assert task.t_train[0] == 1000 and task.t_train[-1] == 1299
    assert task.t_test[0] == 1299 + HORIZON + 100
    assert task.t_test[0] > task.t_train[-1] + HORIZON  # no test input or target inside training
    t, x = mackey_glass(float(task.t_test[-1] + HORIZON))
    for lag_index, lag in enumerate(LAGS):
        np.testing.assert_allclose(task.X_train[:, lag_index], x[task.t_train - lag])
    np.testing.assert_allclose(task.y_train, x[task.t_train + HORIZON])
    np.testing.assert_allclose(task.y_test, x[task.t_test + HORIZON])


def test_delay_embedding_small_example():
    series = np.arange(30.0)
    X, y, t = delay_embedding(series, np.arange(30), lags=(0, 2), horizon=3)
    assert X[0].tolist() == [2.0, 0.0] and y[0] == 5.0 and t[0] == 2
    assert len(y) == 30 - 3 - 2
    with pytest.raises(ValueError, match="too short"):
        delay_embedding(np.arange(5.0), np.arange(5), lags=(0, 2), horizon=3)


def test_normalized_error():
    rng = np.random.default_rng(0)
    y = rng.normal(size=1000)
    assert normalized_error(y, y) == 0.0
    assert normalized_error(y, np.full_like(y, y.mean())) == pytest.approx(1.0)
    assert normalized_error(y, y + 0.1 * y.std()) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="same number"):
        normalized_error(y, y[:-1])
    with pytest.raises(ValueError, match="finite"):
        normalized_error(y, np.full_like(y, np.nan))
    with pytest.raises(ValueError, match="constant"):
        normalized_error(np.ones(5), np.zeros(5))


def test_bad_arguments():
    with pytest.raises(ValueError, match="tau / h must be an integer"):
        mackey_glass(10.0, h=0.3)
    with pytest.raises(ValueError, match="history must be"):
        mackey_glass(10.0, history="linear")
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        mackey_glass(10.0, h=-0.1)
    with pytest.raises(ValueError, match="sample_every"):
        mackey_glass(10.0, sample_every=0.05)
    with pytest.raises(TypeError, match="t_max must be a number"):
        mackey_glass("10")
    with pytest.raises(ValueError, match="n_train must be an int >= 10"):
        mackey_glass_prediction(n_train=5)
    with pytest.raises(TypeError, match="n_test must be an int"):
        mackey_glass_prediction(n_test=2.5)
