"""Chapter 12's distributed code: real 2-rank gloo jobs launched with torchrun, each with a hard timeout.

One launch (module scope) serves the DDP and ZeRO checks; a second checks that a failing rank makes
the launcher fail with a clear message; the async trainer runs in forked processes.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from effdnn_lib.async_sgd import train_async  # noqa: E402
from effdnn_lib.distributed import (  # noqa: E402
    DistributedJobError,
    data_parallel_step,
    delayed_gradient_descent,
    fit_alpha_beta,
    predicted_scaling,
    ring_allreduce_time,
    run_torchrun,
)

TIMEOUT = 120


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "job.json"
    run_torchrun("effdnn_lib.dist_job", ["--out", out, "--epochs", "1", "--zero-steps", "5", "--skip-timing"],
                 nproc=2, timeout=TIMEOUT, echo=False)
    return json.loads(out.read_text())


def test_ddp_equals_single_process_large_batch(job):
    ddp = job["ddp"]
    assert job["world_size"] == 2 and job["backend"] == "gloo"
    assert ddp["steps"] == ddp["reference_steps"] > 0
    assert ddp["max_parameter_gap"] < 1e-12
    assert ddp["reduced_minus_mean_of_locals"] < 1e-12
    assert ddp["reduced_minus_full_batch"] < 1e-12
    assert ddp["local_gradients_relative_gap"] > 1e-3  # the ranks really saw different data


def test_zero1_equals_unsharded_adam_and_memory_is_partitioned(job):
    zero = job["zero"]
    assert zero["max_parameter_gap"] < 1e-12
    assert sum(zero["per_rank_parameters"]) == zero["n_parameters"]
    assert sum(zero["per_rank_tensors"]) == zero["n_tensors"]
    for nbytes, n, k in zip(zero["per_rank_state_bytes"], zero["per_rank_parameters"], zero["per_rank_tensors"]):
        assert nbytes == (2 * n + k) * 4
    assert max(zero["per_rank_state_bytes"]) < zero["unsharded_state_bytes"]


def test_a_failing_rank_fails_the_launcher_with_a_clear_message(tmp_path):
    with pytest.raises(DistributedJobError, match="exit code"):
        run_torchrun("effdnn_lib.dist_job", ["--out", tmp_path / "x.json", "--fail-rank", "1"],
                     nproc=2, timeout=TIMEOUT, echo=False)


def test_launcher_timeout_kills_the_job(tmp_path):
    with pytest.raises(DistributedJobError, match="timeout"):
        run_torchrun("effdnn_lib.dist_job", ["--out", tmp_path / "x.json"], nproc=2, timeout=0.5, echo=False)


def test_async_staleness_counter_is_exact_on_one_worker():
    r = train_async("downpour", workers=1, steps=30, n_fetch=5, n_push=1, method="sgd", lr=0.1)
    assert r["staleness"] == [t % 5 for t in range(30)]
    r = train_async("downpour", workers=1, steps=30, n_fetch=1, n_push=1, method="sgd", lr=0.1)
    assert r["staleness"] == [0] * 30


@pytest.mark.parametrize("mode,method", [("downpour", "adagrad"), ("downpour", "sgd"), ("hogwild", "sgd")])
def test_async_trainer_converges(mode, method):
    r = train_async(mode, workers=2, steps=300, n_fetch=5, method=method, lr=0.1)
    assert r["loss"] < 0.3  # from log(10) = 2.30
    assert r["updates"] == 600
    if mode == "downpour":
        assert len(r["staleness"]) == 600 and min(r["staleness"]) >= 0


def test_ring_allreduce_formula_and_fit():
    assert ring_allreduce_time(1e6, 1, 1e-5, 1e9) == 0
    assert math.isclose(ring_allreduce_time(1e6, 4, 1e-5, 1e9), 6e-5 + 1.5e-3)
    n = [64, 1e3, 1e5, 1e7]
    t = [2e-5 + x / 2e9 for x in n]
    alpha, bw = fit_alpha_beta(n, t)
    assert math.isclose(alpha, 2e-5, rel_tol=1e-6) and math.isclose(bw, 2e9, rel_tol=1e-6)
    with pytest.raises(ValueError, match="workers"):
        ring_allreduce_time(1e6, 0, 1e-5, 1e9)


def test_data_parallel_step_overlap_and_buckets():
    plain = data_parallel_step(0.1, 4e8, 8, 3e-6, 12.5e9)
    over = data_parallel_step(0.1, 4e8, 8, 3e-6, 12.5e9, buckets=16, overlap=True)
    assert over["efficiency"] > plain["efficiency"]
    assert math.isclose(plain["step_s"], 0.1 + ring_allreduce_time(4e8, 8, 3e-6, 12.5e9))
    assert data_parallel_step(0.1, 4e8, 1, 3e-6, 12.5e9)["efficiency"] == 1
    assert 0 < predicted_scaling(64, 25e6, 100, 4096)["efficiency"] <= 1


def test_delayed_gradient_descent_matches_a_closed_form():
    # f(theta) = theta^2 / 2, gradient theta: with tau = 0, theta_t = (1 - lr)^t theta_0
    theta = delayed_gradient_descent(lambda th, t: th, torch.tensor([1.0], dtype=torch.float64), 10, 0.5, 0)
    assert math.isclose(theta.item(), 0.5**10)
    # with tau = 1 the recursion is theta_{t+1} = theta_t - lr theta_{t-1} (theta_{-1} = theta_0)
    lr, th = 0.5, [1.0, 1.0]
    for _ in range(10):
        th.append(th[-1] - lr * th[-2])
    theta = delayed_gradient_descent(lambda th_, t: th_, torch.tensor([1.0], dtype=torch.float64), 10, lr, 1)
    assert math.isclose(theta.item(), th[-1])
