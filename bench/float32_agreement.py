"""How far apart float32 implementations of one network are: the floor under "float32 TFLite
matches Keras to max |diff| <= X". Builds `--model` with random weights (BatchNorm statistics
set from random images, as the exporter does), converts it to a float32 `.tflite`, and runs
the same random images through

- Keras float32 with TensorFlow's oneDNN kernels (the default on x86) and without them
  (``TF_ENABLE_ONEDNN_OPTS=0``, a second process: the switch is read at import),
- LiteRT with XNNPACK, with the builtin kernels, and with the reference kernels,

then prints each one's max |logit diff| from the exact (float64) logits and from each other,
and the largest such difference after the softmax (the default head, as keras.applications'
ResNet50 outputs probabilities):

    python bench/float32_agreement.py [--model resnet50 --image_size 224 --images 16]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402


def _keras_logits(model_path: str, images_path: str, out_path: str) -> None:
    import keras

    import keras_resnet  # noqa: F401  (registers the model's layers)

    model = keras.models.load_model(model_path, compile=False)
    np.save(out_path, model.predict(np.load(images_path), batch_size=64, verbose=0))


def _litert_logits(path: str, images: np.ndarray, resolver: str) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=path, num_threads=1,
                              experimental_op_resolver_type=getattr(OpResolverType, resolver))
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    out = []
    for image in images:
        interpreter.set_tensor(source, image[None])
        interpreter.invoke()
        out.append(interpreter.get_tensor(target)[0].copy())
    return np.stack(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--image_size", type=int, default=224)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keras_only", nargs=3, metavar=("MODEL", "IMAGES", "OUT"),
                        help=argparse.SUPPRESS)  # the oneDNN-off child process
    args = parser.parse_args()
    if args.keras_only:
        _keras_logits(*args.keras_only)
        return 0

    import keras

    from export import converter, serving
    from export.pipeline import Source, set_batchnorm_statistics
    from export.predict import softmax
    from export.reference import float64_logits

    source = Source.from_architecture(args.model, None, args.image_size, None, args.seed)
    model = source.model
    mean, std = source.mean_std()
    rng = np.random.default_rng(args.seed)
    shape = (args.images, args.image_size, args.image_size, 3)
    set_batchnorm_statistics(model, ((rng.uniform(0, 255, shape) - mean) / std).astype("f4"))
    images = ((rng.uniform(0, 255, shape) - mean) / std).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        model_path, images_path = os.path.join(tmp, "m.keras"), os.path.join(tmp, "x.npy")
        model.save(model_path)
        np.save(images_path, images)
        serving.write_saved_model(model, os.path.join(tmp, "saved_model"))
        tflite = os.path.join(tmp, "model_float32.tflite")
        with open(tflite, "wb") as f:
            f.write(converter.convert(os.path.join(tmp, "saved_model"), "float32"))
        logits = {"Keras oneDNN": np.asarray(model.predict(images, batch_size=64, verbose=0))}
        child = os.path.join(tmp, "eigen.npy")
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3",
               "KERAS_BACKEND": keras.backend.backend()}
        subprocess.run([sys.executable, __file__, "--keras_only", model_path, images_path,
                        child], check=True, env=env)
        logits["Keras Eigen"] = np.load(child)
        for name, resolver in (("LiteRT XNNPACK", "AUTO"),
                               ("LiteRT builtin", "BUILTIN_WITHOUT_DEFAULT_DELEGATES"),
                               ("LiteRT reference", "BUILTIN_REF")):
            logits[name] = _litert_logits(tflite, images, resolver)
    exact = float64_logits(model, images)
    print(f"{args.model} at {args.image_size}x{args.image_size}, random weights (seed "
          f"{args.seed}, BatchNorm statistics from random images), {args.images} random "
          f"images; logits: std {exact.std():.3f}, max |logit| {np.abs(exact).max():.3f}")
    names = list(logits)
    width = max(map(len, names)) + 2
    print("max |logit diff|".ljust(width) + "exact".rjust(11)
          + "".join(n.rjust(18) for n in names))
    for a in names:
        row = f"{np.abs(logits[a] - exact).max():11.3e}"
        row += "".join(f"{np.abs(logits[a] - logits[b]).max():18.3e}" for b in names)
        print(a.ljust(width) + row)
    probs = {name: softmax(value.astype(np.float32)) for name, value in logits.items()}
    exact_probs = softmax(exact.astype(np.float32))
    worst = max(np.abs(probs[a] - probs[b]).max() for a in names for b in names)
    from_exact = max(np.abs(p - exact_probs).max() for p in probs.values())
    print(f"after the softmax (float32, {exact.shape[-1]} classes, largest probability "
          f"{exact_probs.max():.4f}): max |probability diff| over all pairs {worst:.3e}, "
          f"from the exact {from_exact:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
