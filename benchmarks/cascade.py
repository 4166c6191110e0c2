"""Deep cascade learning against end-to-end training: accuracy, time and peak training memory.

    python benchmarks/cascade.py --quick     # the CPU, about a minute
    python benchmarks/cascade.py             # the full setting, meant for a GPU (EFFDNN_DEVICE)

Both methods train the same CNN (``effdnn_lib.cascade.conv_blocks``) on the shifted digits
(``effdnn_lib.data.load_shifted_digits``) with the same optimizer, mini-batch size, plateau rule
and number of epochs in total: end to end gets the sum of the cascade's per-stage epochs
``epochs + k * layer``. The device comes from ``effdnn_lib.device.get_device()``. Peak training
memory is ``torch.cuda.max_memory_allocated`` on a GPU and the bytes held for backward on the CPU
(see ``effdnn_lib.cascade.peak_training_memory``). Goals: the final cascade within 1 point of
end-to-end test accuracy; every stage's peak training memory below end-to-end's.

The last line is JSON: {"device": ..., "stages": [{"layer", "test_acc", "seconds",
"peak_mem_bytes", "trainable_params"}, ...], "end_to_end": {...}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from effdnn_lib.cascade import cascade_train, conv_blocks, conv_head, epoch_schedule, train_end_to_end  # noqa: E402
from effdnn_lib.data import load_shifted_digits  # noqa: E402
from effdnn_lib.device import describe, get_device  # noqa: E402
from effdnn_lib.memory import format_bytes  # noqa: E402
from effdnn_lib.notebook import seed_everything  # noqa: E402

SETTINGS = {
    "quick": dict(copies=2, canvas=16, digit_size=12, channels=(8, 16, 32, 32), epochs=3, k=1, lr=0.05, batch_size=64),
    "full": dict(copies=6, canvas=16, digit_size=12, channels=(16, 32, 64, 64), epochs=4, k=1, lr=0.05, batch_size=64),
}


def run(setting: dict, seed: int = 0) -> dict:
    device = get_device()
    seed_everything(seed)
    data = load_shifted_digits(canvas=setting["canvas"], digit_size=setting["digit_size"], copies=setting["copies"], seed=seed)
    channels = setting["channels"]
    common = dict(lr=setting["lr"], batch_size=setting["batch_size"], seed=seed, device=device)
    cascade = cascade_train(
        conv_blocks(channels, seed=seed), conv_head, data, epochs=setting["epochs"], k=setting["k"], **common
    )
    budget = sum(epoch_schedule(len(channels), setting["epochs"], setting["k"]))
    blocks = conv_blocks(channels, seed=seed)
    seed_everything(seed + len(channels))
    end_to_end = train_end_to_end(blocks, conv_head(cascade.stages[-1].feature_shape), data, epochs=budget, **common)
    keys = ("test_acc", "seconds", "peak_mem_bytes", "trainable_params")
    return {
        "device": describe(device),
        "stages": [{"layer": s.layer} | {k: getattr(s, k) for k in keys} for s in cascade.stages],
        "end_to_end": {k: getattr(end_to_end, k) for k in keys},
        "_epochs": [s.epochs for s in cascade.stages] + [end_to_end.epochs],
        "_train_size": len(data["train"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small CPU setting (about a minute)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1: faster for these small layers)")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    name = "quick" if args.quick else "full"
    setting = SETTINGS[name]
    print(f"setting {name}: {setting}", flush=True)
    start = time.perf_counter()
    result = run(setting, args.seed)
    epochs, train_size = result.pop("_epochs"), result.pop("_train_size")
    print(f"device: {result['device']}; {train_size} training images; wall time {time.perf_counter() - start:.1f} s")
    header = f"{'':>12} {'epochs':>6} {'test acc':>9} {'seconds':>8} {'peak train mem':>15} {'trainable':>10}"
    print(header)
    rows = [(f"cascade {s['layer']}", e, s) for s, e in zip(result["stages"], epochs)]
    rows.append(("end to end", epochs[-1], result["end_to_end"]))
    for label, e, r in rows:
        print(
            f"{label:>12} {e:>6} {r['test_acc']:>9.4f} {r['seconds']:>8.2f} "
            f"{format_bytes(r['peak_mem_bytes']):>15} {r['trainable_params']:>10,}"
        )
    e2e = result["end_to_end"]
    cascade_seconds = sum(s["seconds"] for s in result["stages"])
    gap = 100 * (e2e["test_acc"] - result["stages"][-1]["test_acc"])
    mem_ok = all(s["peak_mem_bytes"] < e2e["peak_mem_bytes"] for s in result["stages"])
    print(f"cascade total {cascade_seconds:.2f} s vs end to end {e2e['seconds']:.2f} s ({e2e['seconds'] / cascade_seconds:.1f}x)")
    print(f"goal: final cascade within 1 point of end to end: gap {gap:+.2f} points -> {'met' if gap <= 1.0 else 'NOT met'}")
    print(f"goal: every stage's peak training memory below end to end's -> {'met' if mem_ok else 'NOT met'}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
