"""The GPU toggle's contract (effdnn_lib.device), on the CPU; CUDA is simulated where needed."""

from __future__ import annotations

import pytest
import torch

from effdnn_lib import device as dev


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(dev.ENV_VAR, raising=False)


def test_auto_is_the_default_and_picks_cpu_without_gpu(monkeypatch, capsys):
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    assert dev.requested_device() == "auto"
    assert dev.get_device(verbose=True) == torch.device("cpu")
    assert "no CUDA GPU found" in capsys.readouterr().out


def test_auto_picks_cuda_when_present(monkeypatch, capsys):
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "Simulated GPU")
    assert dev.get_device(verbose=True) == torch.device("cuda")
    assert "Simulated GPU" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["cpu", "CPU", " cpu "])
def test_cpu_is_forced_even_with_a_gpu(monkeypatch, value):
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setenv(dev.ENV_VAR, value)
    assert dev.get_device() == torch.device("cpu")


def test_explicit_cuda_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    monkeypatch.setenv(dev.ENV_VAR, "cuda")
    with pytest.raises(dev.DeviceUnavailableError, match="EFFDNN_DEVICE=cuda was requested but PyTorch sees no CUDA GPU"):
        dev.get_device()


def test_explicit_cuda_with_gpu(monkeypatch):
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setenv(dev.ENV_VAR, "cuda")
    assert dev.get_device() == torch.device("cuda")


@pytest.mark.parametrize("value,hint", [("gpu", "did you mean 'cuda'"), ("tpu", "'auto', 'cpu', 'cuda'")])
def test_unknown_values_name_the_variable_and_the_choices(monkeypatch, value, hint):
    monkeypatch.setenv(dev.ENV_VAR, value)
    with pytest.raises(ValueError, match="EFFDNN_DEVICE must be one of") as info:
        dev.get_device()
    assert hint in str(info.value)


def test_set_device_is_what_get_device_sees(monkeypatch):
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    assert dev.set_device("cpu") == torch.device("cpu")
    assert dev.get_device() == torch.device("cpu")


def test_set_device_restores_the_old_choice_on_error(monkeypatch):
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    dev.set_device("cpu")
    with pytest.raises(dev.DeviceUnavailableError):
        dev.set_device("cuda")
    assert dev.requested_device() == "cpu"
    with pytest.raises(ValueError):
        dev.set_device("quantum")
    assert dev.requested_device() == "cpu"
    with pytest.raises(TypeError, match="choice must be a str"):
        dev.set_device(0)


def test_describe_cpu():
    assert dev.describe("cpu").startswith("CPU (")


def test_toggle_without_gpu_is_disabled_and_says_why(monkeypatch):
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    box = dev.device_toggle()
    toggle, status = box.children
    assert toggle.disabled and toggle.value == "cpu"
    assert "no CUDA GPU here" in status.value


def test_toggle_sets_the_choice_for_later_cells(monkeypatch):
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "Simulated GPU")
    box = dev.device_toggle()
    toggle, status = box.children
    assert not toggle.disabled
    toggle.value = "cuda"
    assert dev.get_device() == torch.device("cuda")
    assert "Simulated GPU" in status.value
    toggle.value = "cpu"
    assert dev.get_device() == torch.device("cpu")
