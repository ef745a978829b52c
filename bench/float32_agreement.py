"""How far apart float32 implementations of one network are: the floor under "float32 TFLite
matches Keras to max |diff| <= X". Builds `--model` with random weights (BatchNorm statistics
set from a batch of images, as the exporter does), converts it to a float32 `.tflite`, and runs
the same images through

- Keras float32 with TensorFlow's oneDNN kernels and with its Eigen kernels (one process
  each, ``TF_ENABLE_ONEDNN_OPTS=1`` and ``=0``: the switch is read at import, and its default
  depends on the CPU's features, e.g. off on this project's AVX2-only AMD EPYC),
- LiteRT with XNNPACK, with the builtin kernels, and with the reference kernels,

then prints each one's max |logit diff| from the exact (float64) logits and from each other,
and the largest such difference after the softmax (the default head, as keras.applications'
ResNet50 outputs probabilities).

The images are uniform noise by default; ``--images_from=folder:PATH`` takes photographs from
an image folder instead (resized to the input size with bilinear filtering; the BatchNorm
statistics come from images of the same folder other than the compared ones):

    python bench/float32_agreement.py [--model=resnet50 --image_size=224 --images=16]
    python bench/float32_agreement.py --images_from=folder:training/sample_data/cifar10 --images=64

``--per_block`` also prints, after every residual block, how far Keras' float32 activations
are from the float64 ones: where along the network the rounding error grows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
from absl import app, flags

from keras_resnet.common.results import Report, machine

_MODEL = flags.DEFINE_string("model", "resnet50", "Registered model name.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 224, "Input side.", lower_bound=32)
_IMAGES = flags.DEFINE_integer("images", 16, "Images compared.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the weights and images.")
_PER_BLOCK = flags.DEFINE_bool("per_block", False,
                               "Also print Keras' float32 error after every residual block.")
_IMAGES_FROM = flags.DEFINE_string("images_from", "noise",
                                   "noise (uniform random pixels) or folder:PATH (photographs).")
_OUTPUT = flags.DEFINE_string("output", None, "Also write the tables to this file.")
_KERAS_ONLY = flags.DEFINE_list("keras_only", None, "Internal: MODEL,IMAGES,OUT of a child "
                                "process that runs Keras only (oneDNN on or off).")


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


def _pixels(images_from: str, count: int, size: int,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint sets of `count` float32 RGB images in [0, 255]: one for the BatchNorm
    statistics, one to compare the implementations on."""
    if images_from == "noise":
        rng = np.random.default_rng(seed)
        return tuple(rng.uniform(0, 255, (count, size, size, 3)).astype(np.float32)
                     for _ in range(2))
    if not images_from.startswith("folder:"):
        raise app.UsageError(f"--images_from={images_from!r}: use noise or folder:PATH.")
    from keras_resnet.data.image_folder import read_image_folder
    from keras_resnet.data.numpy_loader import decode_split

    folder = read_image_folder(images_from[len("folder:"):])["train"]
    if len(folder) < 2 * count:
        raise app.UsageError(f"{images_from} holds {len(folder)} images; --images={count} needs "
                         f"{2 * count} (half for the BatchNorm statistics).")
    pixels, _ = decode_split(folder.sample(2 * count, seed), size)
    order = np.random.default_rng(seed).permutation(2 * count)
    pixels = pixels.astype(np.float32)[order]
    return pixels[:count], pixels[count:]


def _per_block_errors(model, images: np.ndarray, report: Report) -> None:
    """Prints Keras' float32 error against float64 at every block output, pool and logits."""
    import keras

    from keras_resnet.export.reference import float64_twin

    names = [layer.name for layer in model.layers
             if layer.name.endswith("_out") or isinstance(
                 layer, (keras.layers.GlobalAveragePooling2D, keras.layers.Dense))]
    twin = float64_twin(model)
    single = keras.Model(model.input, [model.get_layer(n).output for n in names])
    double = keras.Model(twin.input, [twin.get_layer(n).output for n in names])
    ours = single.predict(images, batch_size=16, verbose=0)
    exact = double.predict(images.astype(np.float64), batch_size=16, verbose=0)
    from keras_resnet.common.cpu_kernels import onednn_active

    kernels = "oneDNN" if onednn_active() else "Eigen"
    report(f"Keras float32 ({kernels} kernels) vs float64 after each block: rms |x|, max |x|, "
          "rms error, max error")
    for name, a, b in zip(names, ours, exact, strict=True):
        error = a.astype(np.float64) - b
        report(f"  {name:24s} {np.sqrt((b ** 2).mean()):7.3f} {np.abs(b).max():8.2f} "
              f"{np.sqrt((error ** 2).mean()):10.2e} {np.abs(error).max():10.2e}")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if _KERAS_ONLY.value:
        _keras_logits(*_KERAS_ONLY.value)
        return 0
    import keras

    from keras_resnet.export import converter, serving
    from keras_resnet.export.pipeline import Source, set_batchnorm_statistics
    from keras_resnet.export.predict import softmax
    from keras_resnet.export.reference import float64_outputs

    statistics_pixels, pixels = _pixels(_IMAGES_FROM.value, _IMAGES.value, _IMAGE_SIZE.value,
                                        _SEED.value)  # first: bad flags fail before the build
    source = Source.from_architecture(_MODEL.value, None, _IMAGE_SIZE.value, None, _SEED.value)
    model = source.model
    mean, std = source.mean_std()
    set_batchnorm_statistics(model, ((statistics_pixels - mean) / std).astype("f4"))
    images = ((pixels - mean) / std).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        model_path, images_path = os.path.join(tmp, "m.keras"), os.path.join(tmp, "x.npy")
        model.save(model_path)
        np.save(images_path, images)
        serving.write_saved_model(model, os.path.join(tmp, "saved_model"), "logits")
        tflite = os.path.join(tmp, "model_float32.tflite")
        with open(tflite, "wb") as f:
            f.write(converter.convert(os.path.join(tmp, "saved_model"), "float32"))
        logits = {}
        for name, onednn in (("Keras oneDNN", "1"), ("Keras Eigen", "0")):
            out = os.path.join(tmp, f"keras_{onednn}.npy")
            env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3",
                   "KERAS_BACKEND": keras.backend.backend()}
            subprocess.run([sys.executable, __file__,
                            f"--keras_only={model_path},{images_path},{out}"], check=True,
                           env=env)
            logits[name] = np.load(out)
        for name, resolver in (("LiteRT XNNPACK", "AUTO"),
                               ("LiteRT builtin", "BUILTIN_WITHOUT_DEFAULT_DELEGATES"),
                               ("LiteRT reference", "BUILTIN_REF")):
            logits[name] = _litert_logits(tflite, images, resolver)
    exact = float64_outputs(model, images)
    what = ("random images" if _IMAGES_FROM.value == "noise"
            else f"photographs of {_IMAGES_FROM.value[len('folder:'):]} resized to the input")
    report = Report()
    report(f"machine: {machine()}")
    report(f"{_MODEL.value} at {_IMAGE_SIZE.value}x{_IMAGE_SIZE.value}, random weights (seed "
          f"{_SEED.value}, BatchNorm statistics from {len(statistics_pixels)} other such "
          f"images), {_IMAGES.value} {what}; logits: std {exact.std():.3f}, max |logit| "
          f"{np.abs(exact).max():.3f}")
    names = list(logits)
    width = max(map(len, names)) + 2
    report("max |logit diff|".ljust(width) + "exact".rjust(11)
          + "".join(n.rjust(18) for n in names))
    for a in names:
        row = f"{np.abs(logits[a] - exact).max():11.3e}"
        row += "".join(f"{np.abs(logits[a] - logits[b]).max():18.3e}" for b in names)
        report(a.ljust(width) + row)
    if _PER_BLOCK.value:
        _per_block_errors(model, images, report)
    probs = {name: softmax(value.astype(np.float32)) for name, value in logits.items()}
    exact_probs = softmax(exact.astype(np.float32))
    worst = max(np.abs(probs[a] - probs[b]).max() for a in names for b in names)
    from_exact = max(np.abs(p - exact_probs).max() for p in probs.values())
    report(f"after the softmax (float32, {exact.shape[-1]} classes, largest probability "
          f"{exact_probs.max():.4f}): max |probability diff| over all pairs {worst:.3e}, "
          f"from the exact {from_exact:.3e}")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
