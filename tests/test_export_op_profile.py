"""keras_resnet/export/op_profile.py: each operator cut out of a `.tflite` computes what it
computed inside the whole model, so its time alone is its share of the model's."""

import sys

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.tf_backend  # the TFLite converter needs TensorFlow


@pytest.fixture(scope="module")
def small_tflite(tmp_path_factory):
    """A float32 .tflite of conv -> BN -> ReLU, a residual add, pooling and a dense head."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    y = keras.layers.ReLU()(keras.layers.Conv2D(4, 3, padding="same")(x))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([x, y]))
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return converter.convert()


def test_every_operator_alone_computes_what_it_did_in_the_model(small_tflite):
    from ai_edge_litert.interpreter import Interpreter

    from keras_resnet.export.op_profile import single_operator_models

    full = Interpreter(model_content=small_tflite, experimental_preserve_all_tensors=True)
    full.allocate_tensors()
    image = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype(np.float32)
    full.set_tensor(full.get_input_details()[0]["index"], image)
    full.invoke()
    singles = single_operator_models(small_tflite)
    assert [s.op for s in singles][:2] == ["CONV_2D", "CONV_2D"]
    assert {"ADD", "MEAN", "FULLY_CONNECTED"} <= {s.op for s in singles}
    assert singles[0].weight_shape == (4, 3, 3, 3) and singles[0].output_shape == (1, 8, 8, 4)
    for single in singles:
        alone = Interpreter(model_content=single.model)
        alone.allocate_tensors()
        for detail in alone.get_input_details():  # tensor indices are the model's own
            alone.set_tensor(detail["index"], full.get_tensor(detail["index"]))
        alone.invoke()
        out = alone.get_output_details()[0]["index"]
        np.testing.assert_allclose(alone.get_tensor(out), full.get_tensor(out), rtol=1e-6,
                                   atol=1e-6, err_msg=f"{single.index} {single.op}")


def test_profile_times_every_operator(small_tflite):
    from keras_resnet.export.op_profile import median_ms, profile

    timings = profile(small_tflite, runs=3)
    assert [t.index for t in timings] == list(range(len(timings)))
    assert all(t.median_ms > 0 and t.dtype == "float32" for t in timings)
    assert timings[0].key == "CONV_2D 1x8x8x4 w4x3x3x3"
    assert median_ms(small_tflite, runs=3) > 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
