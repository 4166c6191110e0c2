"""RAN (Platt 1991), RAN-EKF (Kadirkamanathan & Niranjan 1993), MRAN pruning, and the baselines.

Every update is checked against a computation written out here by hand (and the gradients
against torch.autograd); the Mackey-Glass results against the goals of chapter 9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from effdnn_lib.data import mackey_glass_prediction, normalized_error
from effdnn_lib.ran import RAN, RANEKF
from effdnn_lib.rbf import KMeansRBF, MLPRegressor


def network(cls, centres, widths, weights, bias, n_seen=10_000, P=None, **kwargs):
    """A network in a given state (centres, widths, weights, bias; for RAN-EKF also P)."""
    net = cls(**kwargs)
    net.n_features_ = len(centres[0])
    net.centres_ = np.array(centres, dtype=float)
    net.widths_ = np.array(widths, dtype=float)
    net.weights_ = np.array(weights, dtype=float)
    net.bias_ = float(bias)
    net.n_seen_ = n_seen
    net._low_count = np.zeros(len(weights), dtype=int)
    if P is not None:
        net._P = np.asfortranarray(np.array(P, dtype=float))
    return net


def by_hand_output(x, centres, widths, weights, bias):
    phi = np.array([math.exp(-sum((xi - ci) ** 2 for xi, ci in zip(x, c)) / w**2) for c, w in zip(centres, widths)])
    return bias + float(phi @ np.array(weights)), phi


# ------------------------------------------------------------------------------------------
# Growth: the resolution delta(n), the two novelty conditions, the new unit's parameters
# ------------------------------------------------------------------------------------------


def test_delta_decays_exponentially_to_delta_min():
    net = RAN(delta_max=0.7, delta_min=0.07, tau=43.0)
    assert net.delta(0) == pytest.approx(0.7)
    assert net.delta(43.0 * math.log(2)) == pytest.approx(0.35)
    assert net.delta(43.0 * math.log(10)) == pytest.approx(0.07)
    assert net.delta(10_000) == 0.07
    values = [net.delta(n) for n in range(300)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_first_sample_sets_the_bias_and_second_allocates_with_width_kappa_delta():
    net = RAN(kappa=0.87, epsilon=0.02)
    net.partial_fit([1.0, 2.0], 3.0)
    assert net.n_units == 0 and net.bias_ == 3.0
    net.partial_fit([1.5, 2.0], 3.5)  # no unit yet: the distance is infinite, |e| = 0.5 > epsilon
    assert net.n_units == 1
    assert net.widths_[0] == pytest.approx(0.87 * net.delta(1))
    assert net.weights_[0] == pytest.approx(0.5)
    assert net.history_["novel"] == [False, True]


@pytest.mark.parametrize("cls", [RAN, RANEKF])
def test_novelty_needs_both_distance_and_error(cls):
    centres, widths, weights, bias = [[0.0, 0.0]], [0.3], [0.5], 0.1
    # far (distance 0.5 > delta_min = 0.07) and a large error: novel
    net = network(cls, centres, widths, weights, bias, P=np.eye(4))
    net.partial_fit([0.3, 0.4], 2.0)
    assert net.n_units == 2 and net.history_["novel"] == [True]
    # far but the error is below epsilon: not novel, the parameters adapt instead
    y_hat, _ = by_hand_output([0.3, 0.4], centres, widths, weights, bias)
    net = network(cls, centres, widths, weights, bias, P=np.eye(4), epsilon=0.02)
    net.partial_fit([0.3, 0.4], y_hat + 0.01)
    assert net.n_units == 1 and net.history_["novel"] == [False]
    # a large error but close to a centre (distance 0.05 < delta_min): not novel
    net = network(cls, centres, widths, weights, bias, P=np.eye(4))
    net.partial_fit([0.03, 0.04], 5.0)
    assert net.n_units == 1


def test_the_resolution_in_force_is_delta_of_the_samples_seen():
    centres, widths, weights, bias = [[0.0]], [0.3], [0.0], 0.0
    early = network(RAN, centres, widths, weights, bias, n_seen=2)  # delta(2) = 0.7 exp(-2/43) = 0.668
    early.partial_fit([0.5], 3.0)
    late = network(RAN, centres, widths, weights, bias, n_seen=500)  # delta(500) = delta_min = 0.07
    late.partial_fit([0.5], 3.0)
    assert early.n_units == 1 and late.n_units == 2


@pytest.mark.parametrize("cls", [RAN, RANEKF])
def test_new_unit_parameters_and_exact_fit_at_the_novel_input(cls):
    centres, widths, weights, bias = [[0.0, 0.0], [1.0, 0.0]], [0.4, 0.5], [0.3, -0.2], 0.05
    net = network(cls, centres, widths, weights, bias, P=np.eye(7), kappa=0.87)
    x, y = np.array([0.2, 0.6]), 1.7
    y_hat, _ = by_hand_output(x, centres, widths, weights, bias)
    nearest = min(math.dist(x, c) for c in centres)
    net.partial_fit(x, y)
    assert net.n_units == 3
    np.testing.assert_allclose(net.centres_[-1], x)
    assert net.weights_[-1] == pytest.approx(y - y_hat)  # h = e_n, the error before the unit
    assert net.widths_[-1] == pytest.approx(0.87 * nearest)  # w = kappa * distance to the nearest centre
    assert net.predict(x[None, :])[0] == pytest.approx(y)  # the new unit corrects the error at x
    assert net.history_["error"][-1] == pytest.approx(y - y_hat)


# ------------------------------------------------------------------------------------------
# Adaptation: LMS (RAN) and the extended Kalman filter (RAN-EKF)
# ------------------------------------------------------------------------------------------

CENTRES, WIDTHS, WEIGHTS, BIAS = [[0.0, 0.0], [0.5, 0.2]], [0.4, 0.3], [0.8, -0.4], 0.1
X_NEAR, Y_NEAR = np.array([0.46, 0.23]), 0.7  # 0.05 from the second centre: never novel


def autograd_gradient(x):
    """d y_hat / d [bias, h_1, c_1, h_2, c_2] by torch.autograd (the independent reference)."""
    bias = torch.tensor(BIAS, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(WEIGHTS, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(CENTRES, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(WIDTHS, dtype=torch.float64)
    xt = torch.tensor(x, dtype=torch.float64)
    y_hat = bias + (h * torch.exp(-((xt - c) ** 2).sum(1) / w**2)).sum()
    y_hat.backward()
    per_unit = torch.cat([h.grad[:, None], c.grad], dim=1).reshape(-1)
    return y_hat.item(), torch.cat([bias.grad.reshape(1), per_unit]).numpy()


def test_lms_step_by_hand_and_against_autograd():
    alpha = 0.05
    net = network(RAN, CENTRES, WIDTHS, WEIGHTS, BIAS, alpha=alpha)
    y_hat, phi = by_hand_output(X_NEAR, CENTRES, WIDTHS, WEIGHTS, BIAS)
    e = Y_NEAR - y_hat
    net.partial_fit(X_NEAR, Y_NEAR)
    assert net.n_units == 2
    # Widrow-Hoff by hand: delta gamma = alpha e, delta h_k = alpha e phi_k,
    # delta c_k = alpha e h_k phi_k 2 (x - c_k) / w_k^2
    assert net.bias_ == pytest.approx(BIAS + alpha * e)
    np.testing.assert_allclose(net.weights_, np.array(WEIGHTS) + alpha * e * phi)
    for k in range(2):
        expected = np.array(CENTRES[k]) + alpha * e * WEIGHTS[k] * phi[k] * 2 * (X_NEAR - CENTRES[k]) / WIDTHS[k] ** 2
        np.testing.assert_allclose(net.centres_[k], expected)
    np.testing.assert_allclose(net.widths_, WIDTHS)  # widths are not adapted
    # ... which is gradient descent on e^2 / 2 with step alpha: theta - alpha * (-e) * d y_hat / d theta
    y_torch, grad = autograd_gradient(X_NEAR)
    assert y_torch == pytest.approx(y_hat)
    before = np.concatenate([[BIAS], np.column_stack([WEIGHTS, CENTRES]).ravel()])
    after = np.concatenate([[net.bias_], np.column_stack([net.weights_, net.centres_]).ravel()])
    np.testing.assert_allclose(after, before + alpha * e * grad, rtol=1e-12)


def test_printed_centre_step_has_one_power_of_the_width_fewer():
    # Platt (1991) prints the centre step with 2 / w_k; the gradient of e^2 / 2 has 2 / w_k^2.
    # centre_update="printed" takes the printed form; bias and weights move as before.
    alpha = 0.05
    exact = network(RAN, CENTRES, WIDTHS, WEIGHTS, BIAS, alpha=alpha)
    printed = network(RAN, CENTRES, WIDTHS, WEIGHTS, BIAS, alpha=alpha, centre_update="printed")
    y_hat, phi = by_hand_output(X_NEAR, CENTRES, WIDTHS, WEIGHTS, BIAS)
    e = Y_NEAR - y_hat
    exact.partial_fit(X_NEAR, Y_NEAR)
    printed.partial_fit(X_NEAR, Y_NEAR)
    assert printed.n_units == 2
    assert printed.bias_ == exact.bias_
    np.testing.assert_array_equal(printed.weights_, exact.weights_)
    for k in range(2):
        step = alpha * e * WEIGHTS[k] * phi[k] * 2 * (X_NEAR - CENTRES[k]) / WIDTHS[k]
        np.testing.assert_allclose(printed.centres_[k], np.array(CENTRES[k]) + step, rtol=1e-12)
        # the same direction as the gradient step, shorter by the factor w_k (< 1 here)
        np.testing.assert_allclose(printed.centres_[k] - CENTRES[k], WIDTHS[k] * (exact.centres_[k] - np.array(CENTRES[k])), rtol=1e-12)


def test_ekf_gradient_matches_autograd():
    net = network(RANEKF, CENTRES, WIDTHS, WEIGHTS, BIAS, P=np.eye(7))
    _, grad = autograd_gradient(X_NEAR)
    np.testing.assert_allclose(net.gradient(X_NEAR), grad, rtol=1e-12)


def test_ekf_step_against_a_hand_computed_step():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(7, 7))
    P = M @ M.T / 7 + 0.1 * np.eye(7)  # any symmetric positive definite prior covariance
    r, q0 = 0.8, 0.01
    net = network(RANEKF, CENTRES, WIDTHS, WEIGHTS, BIAS, P=P, r=r, q0=q0)
    y_hat, phi = by_hand_output(X_NEAR, CENTRES, WIDTHS, WEIGHTS, BIAS)
    e = Y_NEAR - y_hat
    # a_n written out: [1, phi_1, h_1 phi_1 2 (x - c_1) / w_1^2, phi_2, h_2 phi_2 2 (x - c_2) / w_2^2]
    a = [1.0]
    for k in range(2):
        a += [phi[k], *(WEIGHTS[k] * phi[k] * 2 * (X_NEAR - CENTRES[k]) / WIDTHS[k] ** 2)]
    a = np.array(a)
    k_gain = P @ a / (r + a @ P @ a)
    w_before = np.concatenate([[BIAS], np.column_stack([WEIGHTS, CENTRES]).ravel()])
    w_expected = w_before + e * k_gain  # eq. (3)
    P_expected = (np.eye(7) - np.outer(k_gain, a)) @ P + q0 * np.eye(7)
    net.partial_fit(X_NEAR, Y_NEAR)
    assert net.n_units == 2
    np.testing.assert_allclose(net.parameter_vector(), w_expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.P_, P_expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(net.P_, net.P_.T)


def test_ekf_on_the_bias_alone_is_the_bayesian_posterior_mean():
    # With no unit ever allocated (epsilon huge) and q0 = 0, the filter estimates a constant from
    # noisy observations: prior mean y_0 with variance p0, noise variance r. The closed form:
    # mean = (y_0 / p0 + sum y_i / r) / (1 / p0 + n / r), variance = 1 / (1 / p0 + n / r).
    rng = np.random.default_rng(0)
    y = 2.0 + rng.normal(size=50)
    p0, r = 0.5, 2.0
    net = RANEKF(epsilon=1e9, p0=p0, r=r, q0=0.0).fit(np.zeros((50, 1)), y)
    n = 49
    assert net.n_units == 0
    assert net.bias_ == pytest.approx((y[0] / p0 + y[1:].sum() / r) / (1 / p0 + n / r))
    assert net.P_[0, 0] == pytest.approx(1 / (1 / p0 + n / r))


def test_covariance_grows_by_a_p0_block_when_a_unit_is_added():
    rng = np.random.default_rng(2)
    M = rng.normal(size=(7, 7))
    P = M @ M.T / 7 + 0.1 * np.eye(7)
    net = network(RANEKF, CENTRES, WIDTHS, WEIGHTS, BIAS, P=P, p0=0.7)
    net.partial_fit([3.0, 3.0], 5.0)  # far and wrong: a new unit, no filter step
    assert net.n_units == 3
    P_new = net.P_
    assert P_new.shape == (10, 10)
    np.testing.assert_allclose(P_new[:7, :7], P)  # the old block is untouched
    np.testing.assert_allclose(P_new[7:, 7:], 0.7 * np.eye(3))  # p0 I for the new weight and centre
    assert np.all(P_new[:7, 7:] == 0) and np.all(P_new[7:, :7] == 0)
    assert len(net.parameter_vector()) == 10


def test_process_noise_keeps_p_from_collapsing():
    task = mackey_glass_prediction(n_train=300, n_test=10)
    without = RANEKF(q0=0.0).fit(task.X_train, task.y_train)
    with_q = RANEKF(q0=0.02).fit(task.X_train, task.y_train)
    assert np.trace(with_q.P_) / len(with_q.P_) > np.trace(without.P_) / len(without.P_)
    assert np.all(np.linalg.eigvalsh(with_q.P_) > 0)


# ------------------------------------------------------------------------------------------
# Pruning (MRAN)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RAN, RANEKF])
def test_pruning_removes_a_unit_that_stays_negligible(cls):
    centres, widths, weights = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]], [0.5, 0.5, 0.5], [0.5, 0.3, 0.4]
    kwargs = dict(P=np.eye(10), epsilon=10.0, prune_threshold=0.01, prune_window=5)
    pruned = network(cls, centres, widths, weights, 0.0, **kwargs)
    twin = network(cls, centres, widths, weights, 0.0, P=np.eye(10), epsilon=10.0)
    xs = [[0.01 * i, 0.0] for i in range(5)]
    for i, x in enumerate(xs):
        pruned.partial_fit(x, 0.5)
        twin.partial_fit(x, 0.5)
        assert pruned.n_units == (3 if i < 4 else 2)  # the far unit goes after 5 samples
    assert pruned.history_["pruned"] == [0, 0, 0, 0, 1]
    np.testing.assert_allclose(pruned.centres_, twin.centres_[:2])
    np.testing.assert_allclose(pruned.predict([[0.0, 0.0]]), twin.predict([[0.0, 0.0]]), atol=1e-12)
    if cls is RANEKF:
        keep = np.r_[0, 1:4, 4:7]  # bias, unit 1 (h, c), unit 2 (h, c)
        np.testing.assert_allclose(pruned.P_, twin.P_[np.ix_(keep, keep)])


def test_pruning_counter_resets_when_a_unit_contributes_again():
    centres, widths, weights = [[0.0], [1.0]], [0.3, 0.3], [0.5, 0.5]
    net = network(RAN, centres, widths, weights, 0.0, epsilon=10.0, prune_threshold=0.01, prune_window=3)
    for x in ([0.0], [0.0], [1.0], [0.0], [0.0], [1.0]):  # unit 2 is negligible at most twice in a row
        net.partial_fit(x, 0.5)
    assert net.n_units == 2 and sum(net.history_["pruned"]) == 0


def test_no_pruning_by_default():
    task = mackey_glass_prediction(n_train=500, n_test=10)
    net = RAN().fit(task.X_train, task.y_train)
    assert sum(net.history_["pruned"]) == 0 and net.n_units == sum(net.history_["novel"])


# ------------------------------------------------------------------------------------------
# The API: fit, predict, history, bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RAN, RANEKF])
def test_fit_is_partial_fit_in_order_and_returns_self(cls):
    task = mackey_glass_prediction(n_train=200, n_test=10)
    net = cls()
    assert net.fit(task.X_train, task.y_train) is net
    step = cls()
    for x, y in zip(task.X_train, task.y_train):
        step.partial_fit(x, y)
    np.testing.assert_array_equal(net.predict(task.X_test), step.predict(task.X_test))
    assert len(net.history_["n_units"]) == 200 and net.history_["n_units"][-1] == net.n_units
    assert net.n_parameters == net.n_units * 6 + 1
    samples, rms = net.learning_curve(window=50)
    assert len(samples) == 200 and np.all(rms >= 0)
    # predict is the network function, vectorised
    y_loop = [net.bias_ + by_hand_output(x, net.centres_, net.widths_, net.weights_, 0.0)[0] for x in task.X_test]
    np.testing.assert_allclose(net.predict(task.X_test), y_loop, rtol=1e-10)
    # fit starts afresh; epochs repeat the pass
    assert cls().fit(task.X_train, task.y_train, epochs=2).n_seen_ == 400


@pytest.mark.parametrize("cls", [RAN, RANEKF])
def test_fit_in_segments_is_one_pass(cls):
    # fit(..., reset=False) continues the same pass: chapter 8 records the test error at
    # checkpoints this way, and the network must be exactly the one a single fit would give.
    task = mackey_glass_prediction(n_train=600, n_test=10)
    whole = cls().fit(task.X_train, task.y_train)
    pieces = cls().fit(task.X_train[:150], task.y_train[:150])
    for start, stop in ((150, 400), (400, 600)):
        pieces.fit(task.X_train[start:stop], task.y_train[start:stop], reset=False)
    assert pieces.n_seen_ == whole.n_seen_ == 600
    np.testing.assert_array_equal(pieces.centres_, whole.centres_)
    np.testing.assert_array_equal(pieces.weights_, whole.weights_)
    assert pieces.history_["n_units"] == whole.history_["n_units"]
    np.testing.assert_array_equal(pieces.predict(task.X_test), whole.predict(task.X_test))


def test_fit_shows_a_progress_bar_when_enabled(monkeypatch, capsys):
    # EFFDNN_PROGRESS=1 and a pass longer than PROGRESS_DELAY_S (here 0 s): a bar counts the
    # samples; with EFFDNN_PROGRESS=0 there is none. The result is the same either way.
    import effdnn_lib.ran as ran_module

    task = mackey_glass_prediction(n_train=200, n_test=10)
    monkeypatch.setattr(ran_module, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setenv("EFFDNN_PROGRESS", "0")
    quiet = RAN().fit(task.X_train, task.y_train)
    assert "RAN samples" not in capsys.readouterr().err
    monkeypatch.setenv("EFFDNN_PROGRESS", "1")
    shown = RAN().fit(task.X_train, task.y_train)
    assert "RAN samples" in capsys.readouterr().err
    np.testing.assert_array_equal(quiet.predict(task.X_test), shown.predict(task.X_test))


def test_divergence_ends_with_a_readable_message():
    # epsilon so large that no unit is ever added: LMS on the bias alone with alpha = 10
    # multiplies the error by -9 at every step, until it overflows
    task = mackey_glass_prediction(n_train=1000, n_test=10)
    with pytest.raises(FloatingPointError, match="RAN diverged at sample"):
        RAN(alpha=10.0, epsilon=1e300).fit(task.X_train, task.y_train)


@pytest.mark.parametrize("cls", [RAN, RANEKF])
def test_bad_input(cls):
    net = cls().partial_fit([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="x must be finite"):
        net.partial_fit([np.nan, 1.0], 1.0)
    with pytest.raises(ValueError, match="y must be finite"):
        net.partial_fit([1.0, 1.0], np.inf)
    with pytest.raises(ValueError, match="x must have 2 features"):
        net.partial_fit([1.0, 2.0, 3.0], 1.0)
    with pytest.raises(ValueError, match="x must be one input vector"):
        net.partial_fit([[1.0, 2.0], [3.0, 4.0]], 1.0)
    with pytest.raises(ValueError, match="y must be one scalar"):
        net.partial_fit([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="X must be a non-empty 2-D array"):
        cls().fit(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="y must be a 1-D array of 5 targets"):
        cls().fit(np.ones((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match="X must be finite"):
        cls().fit(np.full((5, 2), np.inf), np.ones(5))
    with pytest.raises(ValueError, match="X must have 2 features"):
        net.predict(np.ones((3, 4)))
    with pytest.raises(RuntimeError, match="has not seen any sample"):
        cls().predict(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"delta_min must be in \(0.0, 0.7\]"):
        cls(delta_min=0.9)
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        cls(epsilon=-1.0)
    with pytest.raises(TypeError, match="kappa must be a number"):
        cls(kappa="wide")
    with pytest.raises(ValueError, match="prune_window must be an int >= 1"):
        cls(prune_window=0)
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        cls().fit(np.ones((5, 2)), np.ones(5), epochs=0)


def test_bad_hyperparameters_of_each_class():
    with pytest.raises(ValueError, match="alpha must be in"):
        RAN(alpha=0.0)
    with pytest.raises(ValueError, match=r"centre_update must be one of \('gradient', 'printed'\)"):
        RAN(centre_update="platt")
    with pytest.raises(ValueError, match="r must be a finite number > 0"):
        RANEKF(r=0.0)
    with pytest.raises(ValueError, match="q0 must be a finite number >= 0"):
        RANEKF(q0=-0.1)


# ------------------------------------------------------------------------------------------
# Mackey-Glass: the goals of chapter 9, and the baselines
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def task():
    return mackey_glass_prediction()


def test_ran_ekf_beats_ran_with_fewer_units_on_mackey_glass(task):
    ran = RAN().fit(task.X_train, task.y_train)
    ekf = RANEKF().fit(task.X_train, task.y_train)
    err_ran = normalized_error(task.y_test, ran.predict(task.X_test))
    err_ekf = normalized_error(task.y_test, ekf.predict(task.X_test))
    assert err_ekf <= 0.06
    assert ekf.n_units < ran.n_units and err_ekf <= err_ran


def test_kmeans_rbf_solves_the_least_squares_problem(task):
    rbf = KMeansRBF(n_centres=40, overlap=2.0, ridge=0.0).fit(task.X_train, task.y_train)
    A = np.hstack([rbf.design_matrix(task.X_train), np.ones((task.n_train, 1))])
    solution, *_ = np.linalg.lstsq(A, task.y_train, rcond=None)
    np.testing.assert_allclose(np.r_[rbf.weights_, rbf.bias_], solution, rtol=1e-5, atol=1e-6)
    assert rbf.n_parameters == 40 * 6 + 1
    with pytest.raises(ValueError, match="n_centres must be <="):
        KMeansRBF(n_centres=10).fit(task.X_train[:5], task.y_train[:5])


def test_mlp_baseline_learns_and_checks_input(task):
    torch.set_num_threads(1)
    mlp = MLPRegressor(hidden=(16,), epochs=60, seed=0).fit(task.X_train, task.y_train)
    assert mlp.loss_history_[-1] < 0.5 * mlp.loss_history_[0]
    assert mlp.n_parameters == 4 * 16 + 16 + 16 + 1
    assert normalized_error(task.y_test, mlp.predict(task.X_test)) < 0.6
    with pytest.raises(ValueError, match="X must be finite"):
        mlp.predict(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="hidden must be a non-empty tuple"):
        MLPRegressor(hidden=16)


# ------------------------------------------------------------------------------------------
# The Kalman gain and recursive least squares (the linear special case)
# ------------------------------------------------------------------------------------------


def test_kalman_gain_scalar_and_matrix():
    from effdnn_lib.ran import kalman_gain

    assert kalman_gain(0.5, 2.0, 1.0)[0] == pytest.approx(0.5 * 2 / (1 + 4 * 0.5))
    P, a = np.diag([1.0, 2.0]), np.array([1.0, 1.0])
    np.testing.assert_allclose(kalman_gain(P, a, 1.0), np.array([1.0, 2.0]) / 4.0)
    with pytest.raises(ValueError, match="P must be a square matrix"):
        kalman_gain(np.eye(3), a, 1.0)


def test_recursive_least_squares_is_ridge_in_closed_form():
    from effdnn_lib.ran import recursive_least_squares

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=200)
    p0, r = 10.0, 0.5
    w, P = recursive_least_squares(X, y, p0=p0, r=r)
    lam = r / p0
    np.testing.assert_allclose(w, np.linalg.solve(X.T @ X + lam * np.eye(5), X.T @ y), rtol=1e-9)
    np.testing.assert_allclose(P, np.linalg.inv(X.T @ X / r + np.eye(5) / p0), rtol=1e-8, atol=1e-12)
    w_ls, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(recursive_least_squares(X, y, p0=1e8)[0], w_ls, rtol=1e-6)
