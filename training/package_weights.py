"""Turn a finished training run into a shippable ``.weights.h5`` file and its table facts.

``python training/package_weights.py --model_dir=runs/X --output=keras_resnet/weights/files/F``
takes the run's best model (``model_best.keras``), keeps the ResNet inside it (what
``keras_resnet.get_model`` builds), checks that the weights load into a fresh model of the
run's architecture with identical outputs, writes the file atomically and prints what a
`keras_resnet/weights/table.py` row needs: sha256, size, and the run's best val accuracy.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags; defined only when it runs, so that importing `package` (tests,
    other tools) does not clash with train.py's flags of the same names."""
    flags.DEFINE_string("model_dir", None, "A finished training run (holds model_best.keras).")
    flags.DEFINE_string("output", None, "The .weights.h5 file to write.")
    flags.mark_flags_as_required(["model_dir", "output"])


def package(model_dir: str, output: str) -> dict:
    """Writes the best model's backbone weights to `output`; returns its facts."""
    import keras
    import numpy as np

    import keras_resnet
    from keras_resnet.common.atomic_io import atomic_path
    from keras_resnet.train.callbacks import best_epoch
    from keras_resnet.train.model import backbone_of
    from keras_resnet.weights.download import sha256

    if not output.endswith(".weights.h5"):
        raise ValueError(f"--output must end in .weights.h5 (Keras' weights format); got "
                         f"{output!r}.")
    source = os.path.join(model_dir, "model_best.keras")
    if not os.path.isfile(source):
        raise ValueError(f"no {source}: pass the model_dir of a run that finished an epoch.")
    best = best_epoch(os.path.join(model_dir, "history.csv"))
    if best is None:
        raise ValueError(f"{model_dir}/history.csv has no val_accuracy: not a finished run.")
    backbone = backbone_of(keras.models.load_model(source, compile=False))
    name = backbone.name
    fresh = keras_resnet.get_model(name, input_shape=backbone.input_shape[1:],
                                   classes=backbone.output_shape[-1],
                                   classifier_activation=None)
    with atomic_path(output, suffix=".weights.h5") as tmp:
        backbone.save_weights(tmp)
        fresh.load_weights(tmp)
        probe = np.random.default_rng(0).normal(size=(2, *backbone.input_shape[1:]))
        gap = float(np.max(np.abs(keras.ops.convert_to_numpy(fresh(probe)) -
                                  keras.ops.convert_to_numpy(backbone(probe)))))
        if gap > 1e-5:
            raise ValueError(f"{name} rebuilt from the weights differs by {gap:.2e}; the run's "
                             "architecture options do not match keras_resnet's defaults.")
    return {"model": name, "output": output, "bytes": os.path.getsize(output),
            "sha256": sha256(output), "best_epoch": best[0] + 1, "val_accuracy": best[1]}


def main(argv: list[str]) -> int:
    del argv
    facts = package(FLAGS.model_dir, FLAGS.output)
    print(f"{facts['output']}: {facts['model']}, {facts['bytes']:,} bytes, sha256 "
          f"{facts['sha256']}; best val accuracy {facts['val_accuracy']:.4f} at epoch "
          f"{facts['best_epoch']}")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
