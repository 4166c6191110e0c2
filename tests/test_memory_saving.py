"""Chapter 11's remedies: accumulation, checkpointing, memory predictions, loss scaling, the fused Adam."""

from __future__ import annotations

import os
import warnings

import pytest
import torch
from torch import nn

import effdnn_lib.optim as ours
import effdnn_lib.optim.adam as adam_module
from effdnn_lib.hardware import triad_bandwidth
from effdnn_lib.memory import make_mlp, saved_activation_bytes
from effdnn_lib.memory_saving import (
    DynamicLossScaler,
    MemoryTracker,
    accumulate_gradients,
    bytes_per_parameter,
    checkpointed_forward,
    count_underflow,
    measure_step_memory,
    mlp_accumulation_memory,
    mlp_checkpoint_memory,
    partition_parameters,
    segment_bounds,
)

WIDTHS = [16, 32, 32, 32, 5]


def _model_and_batch(batch=32, dtype=torch.float64):
    torch.manual_seed(0)
    model = make_mlp(WIDTHS).to(dtype)
    x = torch.randn(batch, WIDTHS[0], dtype=dtype)
    y = torch.randint(0, WIDTHS[-1], (batch,))
    return model, x, y


def _grads(model):
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_accumulation_gives_the_full_batch_gradient(k):
    model, x, y = _model_and_batch()
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    full = _grads(model)
    loss = accumulate_gradients(model, nn.functional.cross_entropy, x, y, k)
    assert all(torch.allclose(a, f, rtol=0, atol=1e-12) for a, f in zip(_grads(model), full))
    assert abs(loss.item() - nn.functional.cross_entropy(model(x), y).item()) < 1e-12


def test_accumulation_with_batchnorm_differs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 5)).double()
    x, y = torch.randn(32, 16, dtype=torch.float64), torch.randint(0, 5, (32,))
    accumulate_gradients(model, nn.functional.cross_entropy, x, y, 1)
    full = _grads(model)
    accumulate_gradients(model, nn.functional.cross_entropy, x, y, 4)
    assert max((a - f).abs().max().item() for a, f in zip(_grads(model), full)) > 1e-6


@pytest.mark.parametrize("segments", [1, 2, 3, 7])
def test_checkpointing_gives_identical_gradients(segments):
    model, x, y = _model_and_batch()
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    plain = _grads(model)
    model.zero_grad()
    nn.functional.cross_entropy(checkpointed_forward(model, x, segments), y).backward()
    assert all(torch.equal(a, b) for a, b in zip(_grads(model), plain))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_held_memory_matches_chapter_0_and_torchs_saved_tensors(k):
    model, x, y = _model_and_batch(batch=64, dtype=torch.float32)
    measured = measure_step_memory(model, x, y, accumulation_steps=k)
    assert measured.held_after_forward == mlp_accumulation_memory(WIDTHS, 64, k)
    # against torch's own count of the tensors it saves for backward (chapter 0's hook), plus the loss
    saved = saved_activation_bytes(model, nn.functional.cross_entropy, x[: 64 // k].clone(), y[: 64 // k].clone())
    assert measured.held_after_forward == saved + 4


@pytest.mark.parametrize("segments", [None, 1, 2, 3, 4, 7])
def test_checkpoint_prediction(segments):
    model, x, y = _model_and_batch(batch=64, dtype=torch.float32)
    measured = measure_step_memory(model, x, y, segments=segments)
    predicted = mlp_checkpoint_memory(WIDTHS, 64, segments)
    assert measured.held_after_forward == predicted.held_after_forward
    assert measured.peak <= predicted.peak <= 1.5 * measured.peak  # an upper bound (loose here: weights dominate)


def test_tracker_sees_frees():
    with MemoryTracker() as tracker:
        a = torch.ones(1000)
        b = a * 2
        del a
        c = b + 1
        del b, c
    assert tracker.peak_bytes == 2 * 4000 and tracker.live_bytes == 0


def test_loss_scaling_rescues_a_constructed_underflow():
    g = torch.full((10,), 1e-9, dtype=torch.float64)  # below float16's smallest subnormal, 6e-8
    assert count_underflow([g], torch.float16) == {"nonzero": 10, "underflow": 10, "overflow": 0}
    assert count_underflow([g], torch.float16, scale=2.0**16) == {"nonzero": 10, "underflow": 0, "overflow": 0}
    assert count_underflow([g], torch.bfloat16) == {"nonzero": 10, "underflow": 0, "overflow": 0}
    assert count_underflow([g * 1e13], torch.float16, scale=2.0**16)["overflow"] == 10
    # and a real backward pass in float16 loses the gradient without scaling, keeps it with
    w = torch.tensor([1.0], dtype=torch.float16, requires_grad=True)
    (w * torch.tensor(1e-9, dtype=torch.float16)).sum().backward()
    assert w.grad.item() == 0.0
    w.grad = None
    (w * 1e-9 * 2.0**16).to(torch.float16).sum().backward()
    assert w.grad.item() != 0.0


def test_dynamic_loss_scaler_follows_torchs_gradscaler():
    def run(make):
        w = nn.Parameter(torch.tensor([1.0, -2.0]))
        opt = torch.optim.SGD([w], lr=0.1)
        scaler = make()
        scales = []
        for step in range(10):
            opt.zero_grad()
            factor = 1e38 if step in (2, 3, 7) else 1.0
            scaler.scale((w * factor).sum()).backward()
            scaler.step(opt)
            scaler.update()
            scales.append(float(scaler.get_scale() if hasattr(scaler, "get_scale") else scaler.scale_value))
        return scales, w.detach().clone()

    s_ours, w_ours = run(lambda: DynamicLossScaler(2.0**10, growth_interval=3))
    s_torch, w_torch = run(lambda: torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3))
    assert s_ours == s_torch and torch.equal(w_ours, w_torch)


def test_bytes_per_parameter_and_partition():
    assert [bytes_per_parameter(o) for o in ("sgd", "momentum", "adam")] == [8, 12, 16]
    assert bytes_per_parameter("adam", 4, True) == 2 + 2 + 12 / 4
    params = [torch.zeros(n) for n in (10, 9, 5, 4, 1)]
    owned = partition_parameters(params, 2)
    assert sorted(i for o in owned for i in o) == list(range(5))
    assert sorted(sum(params[i].numel() for i in o) for o in owned) == [14, 15]


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda: segment_bounds(4, 5), "segments"),
        (lambda: count_underflow([torch.ones(2)], torch.int32), "dtype"),
        (lambda: count_underflow([torch.ones(2)], torch.float16, scale=0), "scale"),
        (lambda: bytes_per_parameter("lion"), "optimizer"),
        (lambda: bytes_per_parameter("adam", 0), "shards"),
        (lambda: DynamicLossScaler(backoff_factor=2.0), "backoff_factor"),
        (lambda: accumulate_gradients(nn.Linear(2, 2), nn.functional.mse_loss, torch.ones(6, 2), torch.ones(6, 2), 4), "k"),
        (lambda: triad_bandwidth(0), "n"),
    ],
)
def test_bad_arguments_name_themselves(call, argument):
    with pytest.raises((ValueError, TypeError), match=argument):
        call()


def test_checkpointed_forward_needs_a_sequential():
    with pytest.raises(TypeError, match="model"):
        checkpointed_forward(nn.Linear(2, 2), torch.ones(1, 2), 1)


def _adam_runs(fused_kwargs, steps=4):
    results = []
    for make in (lambda ps: torch.optim.Adam(ps, **fused_kwargs[0]), lambda ps: ours.Adam(ps, **fused_kwargs[1])):
        torch.manual_seed(0)
        ps = [nn.Parameter(torch.randn(7, 3)), nn.Parameter(torch.randn(5))]
        opt = make(ps)
        for _ in range(steps):
            for p in ps:
                p.grad = torch.randn_like(p)
            opt.step()
        results.append(ps)
    return results


def test_fused_adam_falls_back_when_compilation_fails(monkeypatch):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("no C++ compiler (simulated)")

    monkeypatch.setattr(adam_module, "_compiled_adam_kernel", None)
    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(RuntimeWarning, match="not available"):
        ref, got = _adam_runs(({}, {"fused": True, "weight_decay": 0.0}))
    assert all(torch.equal(a, b) for a, b in zip(ref, got))  # the readable path: bit-equal


def test_fused_adam_falls_back_when_the_compiled_call_fails(monkeypatch):
    def failing_kernel(*args, **kwargs):
        raise RuntimeError("compiler crashed (simulated)")

    monkeypatch.setattr(adam_module, "_compiled_adam_kernel", failing_kernel)
    with pytest.warns(RuntimeWarning, match="failed"):
        ref, got = _adam_runs(({}, {"fused": True}))
    assert all(torch.equal(a, b) for a, b in zip(ref, got))


def test_fused_adam_is_refused_with_amsgrad_or_foreach():
    with pytest.raises(ValueError, match="fused"):
        ours.Adam([nn.Parameter(torch.zeros(2))], fused=True, amsgrad=True)
    with pytest.raises(RuntimeError, match="fused"):
        ours.Adam([nn.Parameter(torch.zeros(2))], fused=True, foreach=True)


@pytest.mark.skipif(os.environ.get("EFFDNN_TEST_COMPILE") != "1", reason="compiling takes 10-30 s: set EFFDNN_TEST_COMPILE=1")
def test_fused_adam_compiled_matches_torch():
    """The compiled step agrees with torch.optim.Adam to float32 rounding (benchmarks/optim_roofline.py
    checks it too, before timing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback would hide the compiled path
        for wd, decoupled in ((0.0, False), (0.01, False), (0.01, True)):
            ref, got = _adam_runs(({"weight_decay": wd, "decoupled_weight_decay": decoupled},
                                   {"fused": True, "weight_decay": wd, "decoupled_weight_decay": decoupled}))
            assert all(torch.allclose(a, b, rtol=1e-6, atol=1e-7) for a, b in zip(ref, got))


def test_widget_prediction_and_measurement_agree_on_the_exact_terms():
    import matplotlib

    matplotlib.use("Agg")
    from effdnn_lib.memory import mlp_memory
    from effdnn_lib.widgets import measure_step, plot_step_budget, predict_step

    pred = predict_step(32, 3, 64, "float32", 1, 2, throughput_flops=1e10, bandwidth_bytes=1e10)
    widths = [64, 32, 32, 32, 10]
    fixed = mlp_memory(widths, 1, "adam")
    assert pred["memory"]["parameters"] == fixed.parameters and pred["memory"]["gradients"] == fixed.gradients
    assert abs(pred["memory"]["optimizer_state"] - fixed.optimizer_state) <= 4 * 2 * len(widths)  # step counters aside
    meas = measure_step(32, 3, 64, "float32", 1, 2, repeats=1)
    assert meas["activations"] == pred["memory"]["activations"] == mlp_accumulation_memory(widths, 64, 2)
    for segments, precision in ((3, "float32"), (1, "bfloat16")):
        m = measure_step(32, 3, 64, precision, segments, 1, repeats=1)
        assert m["activations"] > 0 and m["seconds"] > 0
    assert plot_step_budget(pred, meas) is not None
