"""report.json (everything measured) and report.md (the table a person reads)."""

from __future__ import annotations

import json
import os

from keras_resnet.common.atomic_io import write_text


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def markdown(report: dict) -> str:
    """The variants side by side: size, accuracy, agreement, output error, latency."""
    variants = report["variants"]
    base = variants.get("float32", {})
    lines = [f"# Export report: {report['model']}", "",
             f"Source: `{report['source']}`. Input {report['input_shape']}, "
             f"preprocessing {'inside the model (raw 0..255 RGB in)' if report['preprocessing']['included'] else 'outside the model (normalized input)'}. "  # noqa: E501
             f"Evaluation: {report['eval']['description']}.", ""]
    if "keras_top1" in report["eval"]:
        lines += [f"Keras model top-1: {_pct(report['eval']['keras_top1'])}", ""]
    scores = report["preprocessing"].get("scores", "logits")
    lines += [f"Output: {scores}.", ""]
    if (own := report["eval"].get("keras_float32_vs_float64_max_abs_diff")) is not None:
        lines += ["max |Δ| is given against the Keras model's float32 output / against the "
                  f"same model recomputed in float64 (the exact {scores}). Keras' own float32 "
                  f"output is {own:.2e} from the exact {scores}.", ""]
    threads = sorted({k for v in variants.values() for k in v["latency"]})
    latency = " | ".join(f"latency {t.replace('_', ' ')} (median / p90 ms)" for t in threads)
    lines.append("| variant | size (bytes) | × float32 | top-1 | agreement | "
                 f"max \\|Δ {scores}\\| | {latency} | ops |")
    lines.append("|---" * (6 + len(threads) + 1) + "|")
    for name, v in variants.items():
        ratio = f"{v['bytes'] / base['bytes']:.3f}" if base else "—"
        diff = v.get("max_abs_diff")
        exact = v.get("max_abs_diff_float64")
        diff_text = "—" if diff is None else f"{diff:.2e}" + (
            "" if exact is None else f" / {exact:.2e}")
        lat = " | ".join(f"{v['latency'][t]['median_ms']:.3f} / {v['latency'][t]['p90_ms']:.3f}"
                         if t in v["latency"] else "—" for t in threads)
        ops = ", ".join(v["ops"])
        if v.get("integer_only_problems"):
            ops += " — NOT integer-only: " + "; ".join(v["integer_only_problems"])
        lines.append(f"| {name} | {v['bytes']:,} | {ratio} | {_pct(v.get('top1'))} | "
                     f"{_pct(v.get('agreement'))} | {diff_text} | "
                     f"{lat} | {ops} |")
    if "qat" in report:
        q = report["qat"]
        lines += ["", f"QAT: tf_keras twin max |diff| vs Keras {q['twin_max_abs_diff']:.2e}; "
                  f"fine-tuned {q['epochs']} epoch(s) on {q['train_images']} images, "
                  f"lr {q['lr']}, {q['lr_schedule']}."]
    for name, threads in report.get("slower_than_float32", {}).items():
        lines += ["", f"**Warning: {name} is slower than float32 on this machine** "
                  f"({', '.join(threads)}): measure it on the target device before shipping it."]
    lines += ["", f"Machine: {report['machine']}; LiteRT {report['litert_version']}, XNNPACK, "
              f"batch 1, {report['latency_runs']} timed runs per figure."]
    return "\n".join(lines) + "\n"


def features_markdown(report: dict) -> str:
    """A backbone export: per variant, each stage's largest difference from Keras."""
    variants = report["variants"]
    base = variants.get("float32", {})
    stages = list(report["outputs"])
    lines = [f"# Export report: {report['model']} feature maps", "",
             f"Source: `{report['source']}`. Input {report['input_shape']}, preprocessing "
             f"{'inside' if report['preprocessing']['included'] else 'outside'} the model. "
             f"Outputs: " + ", ".join(f"{s} {report['outputs'][s]}" for s in stages)
             + f". Compared with Keras on {report['eval']['description']}: largest |Δ| "
             "/ the largest |value| of that map in Keras.", "",
             "| variant | size (bytes) | × float32 | " + " | ".join(stages)
             + " | latency 1 thread (median / p90 ms) |",
             "|---" * (4 + len(stages)) + "|"]
    for name, v in variants.items():
        ratio = f"{v['bytes'] / base['bytes']:.3f}" if base else "—"
        diffs = " | ".join(f"{v['max_abs_diff'][s]:.2e} / {v['max_abs_keras'][s]:.3g}"
                           for s in stages)
        lat = v["latency"]["1_thread"]
        lines.append(f"| {name} | {v['bytes']:,} | {ratio} | {diffs} | "
                     f"{lat['median_ms']:.3f} / {lat['p90_ms']:.3f} |")
    lines += ["", f"Machine: {report['machine']}; LiteRT XNNPACK, batch 1, "
              f"{report['latency_runs']} timed runs."]
    return "\n".join(lines) + "\n"


def write(report: dict, output_dir: str) -> None:
    """Writes report.json and report.md into `output_dir` (each atomically)."""
    write_text(os.path.join(output_dir, "report.json"), json.dumps(report, indent=2) + "\n")
    text = features_markdown(report) if report.get("kind") == "features" else markdown(report)
    write_text(os.path.join(output_dir, "report.md"), text)
