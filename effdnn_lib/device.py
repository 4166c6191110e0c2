"""The GPU toggle: the one place in the course that decides where tensors live.

The choice comes from the environment variable ``EFFDNN_DEVICE``:

``auto`` (the default)
    CUDA when PyTorch sees a GPU, otherwise the CPU; :func:`get_device` says which.
``cpu``
    Always the CPU, even when a GPU is present (useful for comparing the two).
``cuda``
    The GPU. Asking for it on a machine without one is an error, never a silent
    fallback to the CPU: a learner who asked for the GPU should know they did not get it.

The notebook widget :func:`device_toggle` writes the same variable, so every cell that
runs after the toggle is moved sees the new choice through :func:`get_device`.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "EFFDNN_DEVICE"
CHOICES = ("auto", "cpu", "cuda")


class DeviceUnavailableError(RuntimeError):
    """Raised when ``EFFDNN_DEVICE=cuda`` is asked for on a machine without a CUDA GPU."""


def requested_device() -> str:
    """The device asked for in ``EFFDNN_DEVICE``, normalised; ``auto`` when unset.

    Raises ``ValueError`` for anything but ``auto``, ``cpu`` or ``cuda``.
    """
    raw = os.environ.get(ENV_VAR, "auto")
    value = raw.strip().lower() or "auto"
    if value not in CHOICES:
        hint = " (did you mean 'cuda'?)" if value in {"gpu", "cuda:0", "nvidia"} else ""
        raise ValueError(
            f"{ENV_VAR} must be one of {', '.join(repr(c) for c in CHOICES)}; "
            f"got {raw!r}{hint}. Unset it to let the course pick the GPU when there is one."
        )
    return value


def cuda_available() -> bool:
    """Whether PyTorch can use a CUDA GPU here."""
    return torch.cuda.is_available()


def get_device(verbose: bool = False) -> torch.device:
    """Return the ``torch.device`` the course should use, following ``EFFDNN_DEVICE``.

    With ``verbose=True`` it prints one line saying which device was chosen and why.
    """
    choice = requested_device()
    if choice == "cuda" and not cuda_available():
        raise DeviceUnavailableError(
            f"{ENV_VAR}=cuda was requested but PyTorch sees no CUDA GPU on this machine "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False). "
            f"Use {ENV_VAR}=cpu or {ENV_VAR}=auto, or install a CUDA build of PyTorch."
        )
    if choice == "auto":
        device = torch.device("cuda" if cuda_available() else "cpu")
        reason = "auto: a CUDA GPU was found" if device.type == "cuda" else "auto: no CUDA GPU found"
    else:
        device = torch.device(choice)
        reason = f"{ENV_VAR}={choice}"
    if verbose:
        print(f"Using {describe(device)} ({reason})")
    return device


def resolve_device(device: torch.device | str | None, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device``, or :func:`get_device` when it is ``None``. A device passed
    explicitly gets the same checks as ``EFFDNN_DEVICE``: a CUDA device on a machine without one raises
    :class:`DeviceUnavailableError` (never a deep error from PyTorch)."""
    if device is None:
        return get_device()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a torch.device, a str such as 'cpu' or 'cuda', or None; got {type(device).__name__}")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"{name} must name a device such as 'cpu' or 'cuda'; got {device!r} ({error})") from None
    if resolved.type == "cuda" and not cuda_available():
        raise DeviceUnavailableError(
            f"{name}={device!r} was requested but PyTorch sees no CUDA GPU on this machine "
            f"(torch {torch.__version__}); use {name}='cpu' or leave it None to follow {ENV_VAR}"
        )
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise DeviceUnavailableError(f"{name}={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def set_device(choice: str) -> torch.device:
    """Set ``EFFDNN_DEVICE`` for this process (what the toggle does) and return the device.

    The previous value is restored if the new choice is invalid or unavailable.
    """
    if not isinstance(choice, str):
        raise TypeError(f"choice must be a str, one of {CHOICES}; got {type(choice).__name__}")
    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = choice
    try:
        return get_device()
    except (ValueError, DeviceUnavailableError):
        if old is None:
            del os.environ[ENV_VAR]
        else:
            os.environ[ENV_VAR] = old
        raise


def describe(device: torch.device | str | None = None) -> str:
    """A human-readable name: ``'CPU (2 threads)'`` or ``'GPU: NVIDIA H100 80GB HBM3'``."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def synchronize(device: torch.device | str) -> None:
    """Wait for queued GPU work to finish, so that a timer measures the work, not the queue."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def device_toggle():
    """A CPU/GPU toggle for notebooks. Moving it sets ``EFFDNN_DEVICE`` for later cells.

    On a machine without a CUDA GPU the GPU button is disabled and the widget says why.
    """
    import ipywidgets as widgets

    has_gpu = cuda_available()
    current = get_device().type
    toggle = widgets.ToggleButtons(
        options=[("CPU", "cpu"), ("GPU", "cuda")],
        value=current,
        description="Device:",
        tooltips=["Run the following cells on the CPU", "Run the following cells on the CUDA GPU"],
    )
    status = widgets.HTML()

    def show(device_type: str) -> None:
        note = "" if has_gpu else " (no CUDA GPU here, so the GPU choice is disabled)"
        status.value = f"Cells run after this use <b>{describe(torch.device(device_type))}</b>{note}."

    def on_change(change) -> None:
        if change["new"] == "cuda" and not has_gpu:
            toggle.value = "cpu"
            return
        set_device(change["new"])
        show(change["new"])

    if not has_gpu:
        # ToggleButtons cannot disable one option, so the whole toggle is pinned to the CPU.
        toggle.disabled = True
    toggle.observe(on_change, names="value")
    show(current)
    return widgets.VBox([toggle, status])
