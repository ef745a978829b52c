"""Where the time of an exported `.tflite` goes, operator by operator, float32 beside int8:
each operator is cut out into a model of its own and timed as the whole model is (LiteRT,
XNNPACK, batch 1; `keras_resnet.export.op_profile`), in alternating rounds so that machine
noise hits every variant alike. Prints the whole model's time against the sum of its
operators', the time per operator type, and every operator side by side with its ratio to
float32 (the variants pair up by position when their operator lists match):

    python bench/tflite_op_profile.py runs/export/cifar10_resnet20 [--variants=float32,int8]
        [--runs=100 --rounds=3 --threads=1] [--output=results/bench/tflite_op_profile.txt]
"""

from __future__ import annotations

import collections
import dataclasses
import os
import statistics

from absl import app, flags

from keras_resnet.common.results import Report, cpu_features
from keras_resnet.export import op_profile

_VARIANTS = flags.DEFINE_list("variants", ["float32", "int8"], "Variants of the folder to "
                              "profile; the first is the baseline of the ratios.")
_RUNS = flags.DEFINE_integer("runs", 100, "Timed invocations per operator and round.",
                             lower_bound=1)
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Alternating rounds.", lower_bound=1)
_THREADS = flags.DEFINE_integer("threads", 1, "Interpreter threads.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the tables to this file.")


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "—"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise app.UsageError("give one export output folder (holding model_<variant>.tflite)")
    folder = argv[1]
    paths = {v: os.path.join(folder, f"model_{v}.tflite") for v in _VARIANTS.value}
    if missing := [p for p in paths.values() if not os.path.isfile(p)]:
        raise app.UsageError(f"not found: {', '.join(missing)}")
    models = {v: open(p, "rb").read() for v, p in paths.items()}
    rounds: dict[str, list[list[op_profile.OpTiming]]] = {v: [] for v in models}
    whole: dict[str, list[float]] = {v: [] for v in models}
    for _ in range(_ROUNDS.value):
        for variant, model in models.items():
            rounds[variant].append(op_profile.profile(model, _RUNS.value, _THREADS.value))
            whole[variant].append(op_profile.median_ms(model, _RUNS.value, _THREADS.value))
    ops = {v: [dataclasses.replace(op, median_ms=statistics.median(r[i].median_ms
                                                                   for r in rounds[v]))
               for i, op in enumerate(rounds[v][0])] for v in models}
    base = _VARIANTS.value[0]
    report = Report()
    report(f"{folder}: LiteRT XNNPACK, batch 1, {_THREADS.value} thread(s); each operator cut "
           f"out and timed alone, median of {_RUNS.value} runs, median over {_ROUNDS.value} "
           f"alternating rounds; CPU features: {', '.join(cpu_features()) or 'unknown'}")
    report()
    report(f"{'variant':10} {'operators':>9} {'whole model ms':>15} {'sum of operators ms':>20} "
           f"{'whole ×' + base:>14}")
    base_whole = statistics.median(whole[base])
    for variant in models:
        ms = statistics.median(whole[variant])
        report(f"{variant:10} {len(ops[variant]):>9} {ms:>15.4f} "
               f"{sum(o.median_ms for o in ops[variant]):>20.4f} {_ratio(ms, base_whole):>14}")
    report()
    report("time per operator type (ms, sum over the model's operators of that type):")
    kinds = list(dict.fromkeys(o.op for v in models for o in ops[v]))
    per_kind = {v: collections.defaultdict(float) for v in models}
    for variant in models:
        for o in ops[variant]:
            per_kind[variant][o.op] += o.median_ms
    report(f"{'operator':18} " + " ".join(f"{v:>12}" for v in models)
           + " " + " ".join(f"{v + ' ×' + base:>16}" for v in models if v != base))
    for kind in kinds:
        row = " ".join(f"{per_kind[v][kind]:>12.4f}" for v in models)
        ratios = " ".join(f"{_ratio(per_kind[v][kind], per_kind[base][kind]):>16}"
                          for v in models if v != base)
        report(f"{kind:18} {row} {ratios}")
    sequences = {tuple(o.op for o in ops[v]) for v in models}
    report()
    if len(sequences) != 1:
        report("the variants' operator lists differ: no per-operator pairing")
        report.save(_OUTPUT.value)
        return 0
    report("every operator (execution order):")
    report(f"{'#':>3} {'operator':16} {'output':14} {'weights':14} "
           + " ".join(f"{v + ' ms':>12}" for v in models)
           + " " + " ".join(f"{v + ' ×' + base:>16}" for v in models if v != base))
    for i, o in enumerate(ops[base]):
        shape = "x".join(map(str, o.output_shape))
        weights = "x".join(map(str, o.weight_shape)) if o.weight_shape else "-"
        row = " ".join(f"{ops[v][i].median_ms:>12.4f}" for v in models)
        ratios = " ".join(f"{_ratio(ops[v][i].median_ms, o.median_ms):>16}"
                          for v in models if v != base)
        report(f"{i:>3} {o.op:16} {shape:14} {weights:14} {row} {ratios}")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
