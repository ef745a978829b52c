"""GPU benchmark: our ResNet50 vs keras.applications.ResNet50 (Keras 3 on JAX, mixed_bfloat16)
vs torchvision resnet50 (eager and torch.compile, bf16 autocast), train and inference img/s.

Run on the GPU machine (see README, "Benchmarks"): ``python bench/gpu_resnet50.py``. Each
contestant runs in its own process, one after another, so none shares GPU memory with another;
the table prints at the end with ratios against keras.applications. Times are wall-clock over
whole `fit`/`predict` calls or loops closed by a synchronize, never per-batch callbacks (JAX
dispatches asynchronously).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from absl import app, flags

CONTESTANTS = ("keras_resnet", "keras_applications", "torch_eager", "torch_compile")

_WHO = flags.DEFINE_enum("who", None, CONTESTANTS, "Internal: run one contestant.")
_BATCH = flags.DEFINE_integer("batch", 256, "Batch size.", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 8, "Batches per timed epoch.", lower_bound=1)
_TIMEOUT = flags.DEFINE_integer("timeout", 240, "Seconds per contestant.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def bench_keras(who: str, batch: int, steps: int) -> dict:
    """Train (SGD, fit) and inference (predict) throughput of a Keras 3 ResNet50 on JAX."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    if who == "keras_resnet":
        import keras_resnet

        model = keras_resnet.ResNet50()
    else:
        model = keras.applications.ResNet50(weights=None)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", jit_compile=True)
    rng = np.random.default_rng(0)
    x = jax.device_put(rng.random((batch * steps, 224, 224, 3), dtype=np.float32))
    y = jax.device_put(rng.integers(0, 1000, (batch * steps,)).astype("int32"))
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # compiles
    first = time.perf_counter() - t
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=2, verbose=0, shuffle=False)
    train = 2 * batch * steps / (time.perf_counter() - t)
    model.predict(x[: 2 * batch], batch_size=batch, verbose=0)
    t = time.perf_counter()
    model.predict(x, batch_size=batch, verbose=0)
    infer = batch * steps / (time.perf_counter() - t)
    return {"framework": f"keras {keras.__version__}, jax {jax.__version__}",
            "train_img_s": train, "infer_img_s": infer, "first_fit_s": first}


def bench_torch(who: str, batch: int, steps: int) -> dict:
    """The same measurement for torchvision's resnet50 (channels_last, bf16 autocast)."""
    import torch
    import torchvision

    torch.backends.cudnn.benchmark = True
    model = torchvision.models.resnet50().cuda().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch, 3, 224, 224, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,), device="cuda")
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if who == "torch_compile":
        step = torch.compile(step)
    t = time.perf_counter()
    for _ in range(5):
        step()
    torch.cuda.synchronize()
    first = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(2 * steps):
        step()
    torch.cuda.synchronize()
    train = 2 * steps * batch / (time.perf_counter() - t)
    model.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        for _ in range(3):
            model(x)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(steps):
            model(x)
        torch.cuda.synchronize()
        infer = steps * batch / (time.perf_counter() - t)
    return {"framework": f"torch {torch.__version__}", "train_img_s": train,
            "infer_img_s": infer, "first_fit_s": first}


def run_all(batch: int, steps: int, timeout: int) -> list[dict]:
    """Runs every contestant in a subprocess; a failure becomes a row with its error."""
    rows = []
    for who in CONTESTANTS:
        cmd = [sys.executable, __file__, f"--who={who}", f"--batch={batch}", f"--steps={steps}"]
        print(f"== {who}", flush=True)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            row = json.loads(lines[-1]) if lines else {"who": who,
                                                       "error": proc.stderr[-800:]}
        except subprocess.TimeoutExpired:
            row = {"who": who, "error": f"timed out after {timeout}s"}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table with ratios against keras.applications."""
    ref = next((r for r in rows if r["who"] == "keras_applications" and "error" not in r), None)
    out = ["| model | framework | train img/s | vs keras.applications | inference img/s | "
           "vs keras.applications | first call s |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['who']} | failed: {r['error'][-120:]!r} | | | | | |")
            continue
        tr = f"{r['train_img_s'] / ref['train_img_s']:.3f}x" if ref else "n/a"
        inf = f"{r['infer_img_s'] / ref['infer_img_s']:.3f}x" if ref else "n/a"
        out.append(f"| {r['who']} | {r['framework']} | {r['train_img_s']:,.0f} | {tr} | "
                   f"{r['infer_img_s']:,.0f} | {inf} | {r['first_fit_s']:.1f} |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if _WHO.value:
        bench = bench_torch if _WHO.value.startswith("torch") else bench_keras
        print(json.dumps({"who": _WHO.value, "batch": _BATCH.value,
                          **bench(_WHO.value, _BATCH.value, _STEPS.value)}), flush=True)
        return 0
    rows = run_all(_BATCH.value, _STEPS.value, _TIMEOUT.value)
    text = f"ResNet-50, batch {_BATCH.value}, 224x224, synthetic data, bf16\n\n{table(rows)}\n"
    print(text)
    if _OUTPUT.value:  # written here, not by keras_resnet.common: this process loads no Keras
        with open(_OUTPUT.value + ".tmp", "w") as f:
            f.write(text)
        os.replace(_OUTPUT.value + ".tmp", _OUTPUT.value)
        print(f"wrote {_OUTPUT.value}")
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    app.run(main)
