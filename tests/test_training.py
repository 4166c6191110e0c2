"""The shared training loop: schedules against closed forms and torch.optim.lr_scheduler, early
stopping on constructed loss curves, restoring the best weights, divergence detection."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler

from effdnn_lib.training import (
    ConstantLR,
    CosineAnnealing,
    EarlyStopping,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    ReduceOnPlateau,
    StepDecay,
    TrainingDiverged,
    accuracy,
    evaluate,
    lr_range_test,
    train,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Small models train fastest on one thread (chapter 0); keeps the tests quick on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def torch_lrs(make_scheduler, n, eta0=0.1):
    """The learning rate torch's scheduler gives in epochs 0 .. n-1 (stepped once per epoch)."""
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=eta0)
    scheduler = make_scheduler(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


def blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = centres[y] + 0.7 * torch.randn(n, 2, generator=g)
    return x, y


# ---- schedules: closed forms and torch ----------------------------------------------------------


def test_step_decay_closed_form_and_torch():
    s = StepDecay(eta0=0.1, step_size=3, gamma=0.5)
    assert [s(t) for t in range(7)] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    ref = torch_lrs(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 20)
    assert [s(t) for t in range(20)] == pytest.approx(ref, rel=1e-12)


def test_exponential_decay_closed_form_and_torch():
    s = ExponentialDecay(eta0=0.1, gamma=0.9)
    assert s(10) == pytest.approx(0.1 * 0.9**10, rel=1e-15)
    ref = torch_lrs(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), 30)
    assert [s(t) for t in range(30)] == pytest.approx(ref, rel=1e-10)


def test_cosine_closed_form_and_torch():
    s = CosineAnnealing(eta0=0.1, t_max=20, eta_min=0.001)
    assert s(0) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.001 + 0.5 * 0.099)  # half way: the mean of the two ends
    assert s(20) == pytest.approx(0.001) and s(35) == pytest.approx(0.001)  # stays at the floor
    ref = torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.001), 21)
    assert [s(t) for t in range(21)] == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_linear_warmup_closed_form_and_torch():
    after = CosineAnnealing(eta0=0.1, t_max=10)
    s = LinearWarmup(after, warmup=5)
    assert [s(t) for t in range(5)] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1])
    assert [s(5 + t) for t in range(11)] == pytest.approx([after(t) for t in range(11)])
    # torch: LinearLR from 1/W to 1 over W - 1 steps gives (t + 1) / W, then the cosine
    ref = torch_lrs(
        lambda o: lr_scheduler.SequentialLR(
            o,
            [lr_scheduler.LinearLR(o, start_factor=1 / 5, end_factor=1.0, total_iters=4), lr_scheduler.CosineAnnealingLR(o, T_max=10)],
            milestones=[5],
        ),
        16,
    )
    assert [s(t) for t in range(16)] == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_inverse_time_decay_closed_form():
    # Bengio (2012): eta_t = eta0 * tau / max(t, tau): constant up to tau, then eta0 / k at t = k tau
    s = InverseTimeDecay(eta0=0.2, tau=4)
    assert [s(t) for t in range(5)] == [0.2] * 5
    assert [s(4 * k) for k in (1, 2, 5, 25)] == pytest.approx([0.2, 0.1, 0.04, 0.008], rel=1e-15)
    assert all(s(t) * t == pytest.approx(0.2 * 4, rel=1e-15) for t in range(4, 200))  # eta_t t = eta0 tau after tau
    assert all(s(t + 1) <= s(t) for t in range(200))
    # torch: LambdaLR with the factor tau / max(t, tau), stepped once per unit
    ref = torch_lrs(lambda o: lr_scheduler.LambdaLR(o, lambda t: 4 / max(t, 4)), 30, eta0=0.2)
    assert [s(t) for t in range(30)] == pytest.approx(ref, rel=1e-12)


def test_constant():
    assert ConstantLR(0.3)(1000) == 0.3


def test_reduce_on_plateau_against_torch():
    g = torch.Generator().manual_seed(1)
    # a loss that falls, plateaus with noise, falls again, plateaus
    losses = [1 / (1 + t) if t < 10 else 0.09 + 0.01 * torch.rand(1, generator=g).item() for t in range(60)]
    for patience in (0, 2, 5):
        ours = ReduceOnPlateau(eta0=0.1, factor=0.1, patience=patience)
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        ref = lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=patience, min_lr=1e-7)
        ours.eta_min = 1e-7
        for loss in losses:
            ref.step(loss)
            assert ours.step(loss) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)


def test_reduce_on_plateau_closed_form_on_a_flat_loss():
    # a constant loss never improves after the first epoch: eta_t = eta0 * factor^floor(t / (patience + 1))
    s = ReduceOnPlateau(eta0=1.0, factor=0.1, patience=3)
    lrs = [s.step(1.0) for _ in range(12)]
    assert lrs == pytest.approx([1.0] * 4 + [0.1] * 4 + [0.01] * 4)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StepDecay(0.1, step_size=0), "step_size must be a positive int"),
        (lambda: StepDecay(0.1, step_size=2, gamma=1.5), r"gamma must be a number in \[0.0, 1.0\]"),
        (lambda: ExponentialDecay(-1.0, 0.9), "eta0 must be a positive number"),
        (lambda: InverseTimeDecay(0.1, tau=0), "tau must be a positive int"),
        (lambda: InverseTimeDecay(0.0, tau=5), "eta0 must be a positive number"),
        (lambda: CosineAnnealing(0.1, t_max=10, eta_min=0.2), "eta_min must be a number in"),
        (lambda: ReduceOnPlateau(0.1, factor=1.0), r"factor must be a number in \[0.0, 1.0\)"),
        (lambda: ReduceOnPlateau(0.1, patience=-1), "patience must be an int >= 0"),
        (lambda: EarlyStopping(patience=0), "patience must be a positive int"),
    ],
)
def test_schedule_arguments_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_warmup_rejects_plateau():
    with pytest.raises(TypeError, match="closed-form schedule"):
        LinearWarmup(ReduceOnPlateau(0.1), warmup=3)


# ---- early stopping ------------------------------------------------------------------------


def test_early_stopping_on_a_constructed_curve():
    # falls to its minimum after epoch 6, then rises: with patience 4 it stops after epoch 10
    curve = [1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.46, 0.47, 0.45, 0.5, 0.6, 0.7]
    stopper = EarlyStopping(patience=4)
    for epoch, loss in enumerate(curve, start=1):
        stopper.update(loss, epoch)
        if stopper.should_stop:
            break
    assert (stopper.best_epoch, stopper.best, epoch) == (6, 0.44, 10)


def test_early_stopping_min_delta():
    # improvements smaller than min_delta do not count
    curve = [1.0, 0.95, 0.94, 0.935, 0.93]
    stopper = EarlyStopping(patience=3, min_delta=0.1)
    for epoch, loss in enumerate(curve, start=1):
        stopper.update(loss, epoch)
        if stopper.should_stop:
            break
    assert (stopper.best_epoch, epoch) == (1, 4)


def overfitting_setup():
    """Few, noisy training labels and a wide network: the validation loss turns up early."""
    x, y = blobs(300, seed=0)
    g = torch.Generator().manual_seed(5)
    noisy = y.clone()
    flip = torch.rand(len(y), generator=g) < 0.3
    noisy[flip] = torch.randint(0, 3, (int(flip.sum()),), generator=g)
    train_data, val_data = (x[:60], noisy[:60]), (x[60:], y[60:])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 3))
    return model, train_data, val_data


def test_early_stopping_restores_the_best_weights():
    model, train_data, val_data = overfitting_setup()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    h = train(model, opt, train_data, epochs=300, batch_size=20, val_data=val_data, patience=10, device="cpu")
    assert h.stopped_epoch is not None and h.stopped_epoch < 300
    assert h.stopped_epoch - h.best_epoch == 10
    assert h.best_epoch == 1 + min(range(len(h.val_loss)), key=h.val_loss.__getitem__)
    # the model holds the best epoch's weights: its validation loss is the best one recorded ...
    assert evaluate(model, val_data)["loss"] == pytest.approx(min(h.val_loss), rel=1e-6)
    # ... and they equal those of a fresh run of exactly best_epoch epochs (same seed)
    model.load_state_dict(init)
    opt2 = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, opt2, train_data, epochs=h.best_epoch, batch_size=20, val_data=val_data, device="cpu")
    rerun = model.state_dict()
    model_best, *_ = overfitting_setup()
    opt3 = torch.optim.Adam(model_best.parameters(), lr=0.01)
    train(model_best, opt3, train_data, epochs=300, batch_size=20, val_data=val_data, patience=10, device="cpu")
    for k, v in model_best.state_dict().items():
        torch.testing.assert_close(v, rerun[k], rtol=0, atol=0)


def test_without_restore_the_last_weights_stay():
    model, train_data, val_data = overfitting_setup()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    h = train(model, opt, train_data, epochs=300, batch_size=20, val_data=val_data, patience=10, restore_best=False, device="cpu")
    assert evaluate(model, val_data)["loss"] == pytest.approx(h.val_loss[-1], rel=1e-6)
    assert h.val_loss[-1] > min(h.val_loss)


# ---- the loop ------------------------------------------------------------------------------


def test_train_learns_and_records_history():
    x, y = blobs(300)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h = train(model, opt, (x[:200], y[:200]), epochs=20, batch_size=25, val_data=(x[200:], y[200:]), metrics={"accuracy": accuracy}, device="cpu")
    assert h.epochs == 20 and len(h.val_loss) == 20 and len(h.val_metrics["accuracy"]) == 20
    assert h.steps == 20 * 8 and len(h.step_loss) == h.steps
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.val_metrics["accuracy"][-1] > 0.9
    assert h.lr == [0.1] * 20


def test_schedule_is_applied_per_epoch_and_per_step():
    x, y = blobs(100)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=123.0)
    s = StepDecay(0.1, step_size=2, gamma=0.5)
    h = train(model, opt, (x, y), epochs=5, batch_size=50, schedule=s, device="cpu")
    assert h.lr == pytest.approx([s(t) for t in range(5)])
    seen = []
    train(model, opt, (x, y), epochs=2, batch_size=25, schedule=ExponentialDecay(0.1, 0.5), schedule_unit="step",
          after_step=lambda m, lr: seen.append(lr), device="cpu")
    assert seen == pytest.approx([0.1 * 0.5**t for t in range(8)])


def test_plateau_schedule_in_the_loop_matches_its_rule():
    x, y = blobs(100)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # an lr of 0 from the start would never improve; here the val loss is the training data's
    s = ReduceOnPlateau(eta0=1e-9, factor=0.1, patience=1)
    h = train(model, opt, (x, y), epochs=6, batch_size=100, val_data=(x, y), schedule=s, device="cpu")
    # with so small a rate the loss barely moves: improvements < 1e-4 relative do not count
    assert h.lr == pytest.approx([1e-9, 1e-9, 1e-9, 1e-10, 1e-10, 1e-11])


def test_penalty_and_after_step_are_used():
    x, y = blobs(100)
    torch.manual_seed(0)
    a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    b.load_state_dict(a.state_dict())
    lam = 0.1
    # L2 penalty (lam / 2) ||W||^2 in the loss == SGD's weight_decay=lam (weights and bias)
    train(a, torch.optim.SGD(a.parameters(), lr=0.1), (x, y), epochs=3, batch_size=20,
          penalty=lambda m: lam / 2 * sum((p**2).sum() for p in m.parameters()), device="cpu")
    train(b, torch.optim.SGD(b.parameters(), lr=0.1, weight_decay=lam), (x, y), epochs=3, batch_size=20, device="cpu")
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_divergence_is_detected_with_a_readable_message():
    x, y = blobs(200)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=50.0)
    with pytest.raises(TrainingDiverged, match=r"Training diverged in epoch \d+ \(step \d+, learning rate 50\).*smaller learning rate") as info:
        train(model, opt, (x, y), epochs=50, batch_size=20, device="cpu")
    err = info.value
    assert err.lr == 50.0 and err.history is not None and err.step >= 1
    assert len(err.history.step_loss) == err.step - 1  # everything before the blow-up is kept
    assert all(math.isfinite(v) for v in err.history.step_loss)


def test_nan_loss_is_detected_even_without_a_factor():
    x, y = blobs(40)
    model = nn.Linear(2, 3)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="became nan"):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=1, divergence_factor=None, device="cpu")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, "epochs must be a positive int"),
        ({"epochs": 2, "batch_size": 0}, ValueError, "batch_size must be a positive int"),
        ({"epochs": 2, "schedule_unit": "batch"}, ValueError, "schedule_unit must be 'epoch' or 'step'"),
        ({"epochs": 2, "patience": 3}, ValueError, "early stopping .* needs val_data"),
        ({"epochs": 2, "schedule": 0.1}, TypeError, "schedule must be a callable"),
        ({"epochs": 2, "schedule": ReduceOnPlateau(0.1), "schedule_unit": "step"}, ValueError, "schedule_unit='epoch'"),
        ({"epochs": 2, "divergence_factor": -1}, ValueError, "divergence_factor must be a positive number"),
    ],
)
def test_train_arguments_are_checked(kwargs, error, message):
    x, y = blobs(20)
    model = nn.Linear(2, 3)
    with pytest.raises(error, match=message):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), device="cpu", **kwargs)


def test_train_rejects_a_non_optimizer_and_bad_data():
    x, y = blobs(20)
    model = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        train(model, "sgd", (x, y), epochs=1)
    with pytest.raises(TypeError, match="train_data must be a Split or a pair"):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), x, epochs=1, device="cpu")


def test_train_accepts_the_course_optimizers():
    from effdnn_lib import optim

    x, y = blobs(100)
    torch.manual_seed(0)
    a = nn.Linear(2, 3)
    b = nn.Linear(2, 3)
    b.load_state_dict(a.state_dict())
    train(a, torch.optim.Adam(a.parameters(), lr=0.01), (x, y), epochs=3, device="cpu")
    train(b, optim.Adam(b.parameters(), lr=0.01), (x, y), epochs=3, device="cpu")
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


# ---- the range test ------------------------------------------------------------------------


def test_lr_range_test_is_geometric_stops_and_restores():
    x, y = blobs(300)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    result = lr_range_test(model, opt, (x, y), lr_min=1e-4, lr_max=100.0, steps=60, device="cpu")
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:])]
    assert ratios == pytest.approx([(100.0 / 1e-4) ** (1 / 59)] * len(ratios))
    assert len(result.lrs) < 60  # the loss blew up before lr reached 100
    assert result.losses[-1] > 4 * min(result.losses) or len(result.lrs) < 60
    assert 1e-4 <= result.suggested_lr <= 10
    assert opt.param_groups[0]["lr"] == 0.05 and not opt.state  # optimizer put back
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    with pytest.raises(ValueError, match="lr_max must be larger than lr_min"):
        lr_range_test(model, opt, (x, y), lr_min=1.0, lr_max=0.1)


def test_evaluate_switches_dropout_off():
    x, y = blobs(50)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.Dropout(0.5), nn.Linear(64, 3))
    a = evaluate(model, (x, y), metrics={"accuracy": accuracy})
    b = evaluate(model, (x, y), metrics={"accuracy": accuracy})
    assert a == b and model.training
    assert a["loss"] == pytest.approx(F.cross_entropy(model.eval()(x), y).item())
