"""TrivialAugment: each operation against Pillow, the draw, and the pipeline's use of it."""

import numpy as np
import pytest

from keras_resnet.data import trivial_augment as ta

pytestmark = pytest.mark.backend_independent  # tf.data code: the TensorFlow pass covers it


@pytest.fixture(scope="module")
def image():
    """A 32x32 RGB image with a ramp and noise: every tone and edge operation changes it."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 180, 32)[None, :, None] + rng.integers(0, 70, (32, 32, 3))
    return ramp.astype(np.uint8)


def _apply(image, name, strength, sign=1.0):
    return ta.apply(image.astype(np.float32), ta.OPERATIONS.index(name), strength,
                    sign).numpy()


def _enhance(kind):
    def run(pil, factor):
        from PIL import ImageEnhance

        return getattr(ImageEnhance, kind)(pil).enhance(factor)
    return run


@pytest.mark.parametrize("name,kind", [("brightness", "Brightness"), ("color", "Color"),
                                       ("contrast", "Contrast"), ("sharpness", "Sharpness")])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_enhance_operations_are_pillows(image, name, kind, sign):
    """Factor 1 ± 0.9 × strength, as Pillow's ImageEnhance; within Pillow's rounding to
    8 bits (of its grey, smoothed or mean image, then of the blend)."""
    from PIL import Image

    strength = 0.6
    expected = np.asarray(_enhance(kind)(Image.fromarray(image), 1 + sign * ta.ENHANCE * strength))
    got = _apply(image, name, strength, sign)
    assert np.abs(got - expected).max() <= 1.5
    assert np.abs(got - image).max() > 10  # it did change the image


def test_tone_operations_are_pillows(image):
    from PIL import Image, ImageOps

    pil = Image.fromarray(image)
    np.testing.assert_array_equal(_apply(image, "posterize", 0.5), ImageOps.posterize(pil, 6))
    np.testing.assert_array_equal(_apply(image, "posterize", 1.0), ImageOps.posterize(pil, 4))
    np.testing.assert_array_equal(_apply(image, "solarize", 0.5), ImageOps.solarize(pil, 128))
    np.testing.assert_array_equal(_apply(image, "equalize", 0.3), ImageOps.equalize(pil))
    assert np.abs(_apply(image, "autocontrast", 0.3) - ImageOps.autocontrast(pil)).max() <= 1


def test_geometric_operations_are_pillows(image):
    """Nearest-pixel affine maps about the centre with a black fill, pixel for pixel as
    Pillow's rotate and affine transform."""
    from PIL import Image

    pil = Image.fromarray(image)
    strength = 0.5
    np.testing.assert_array_equal(_apply(image, "rotate", strength),
                                  pil.rotate(ta.ROTATE_DEGREES * strength, Image.NEAREST))
    shear = ta.SHEAR * strength
    np.testing.assert_array_equal(
        _apply(image, "shear_x", strength),
        pil.transform((32, 32), Image.AFFINE, (1, shear, -shear * 16, 0, 1, 0),
                      Image.NEAREST))
    np.testing.assert_array_equal(
        _apply(image, "shear_y", strength, -1.0),
        pil.transform((32, 32), Image.AFFINE, (1, 0, 0, -shear, 1, shear * 16),
                      Image.NEAREST))
    shift = 7
    moved = _apply(image, "translate_x", shift / (ta.TRANSLATE * 32))
    np.testing.assert_array_equal(moved[:, :32 - shift], image[:, shift:])
    assert not moved[:, 32 - shift:].any()  # uncovered pixels are black


@pytest.mark.parametrize("name", [n for n in ta.OPERATIONS
                                  if n not in ("autocontrast", "equalize")])
def test_strength_zero_leaves_the_image_alone(image, name):
    np.testing.assert_allclose(_apply(image, name, 0.0), image, atol=1e-3)


def test_draws_are_uniform_over_operations_and_repeatable():
    import tensorflow as tf

    draws = [ta.draw(tf.constant([7, i], tf.int64)) for i in range(1400)]
    ops = np.array([int(op) for op, _, _ in draws])
    counts = np.bincount(ops, minlength=len(ta.OPERATIONS))
    assert len(counts) == len(ta.OPERATIONS) and counts.min() >= 60 and counts.max() <= 140
    strengths = np.array([float(s) for _, s, _ in draws])
    assert strengths.min() < 0.02 and strengths.max() > 0.98 and 0.45 < strengths.mean() < 0.55
    signs = np.array([float(s) for _, _, s in draws])
    assert set(signs) == {-1.0, 1.0} and 0.4 < np.mean(signs > 0) < 0.6
    again = ta.draw(tf.constant([7, 3], tf.int64))
    assert [float(v) for v in again] == [float(v) for v in draws[3]]


def test_training_epochs_augment_repeatably_and_anew_each_epoch():
    """With auto_augment='trivial' each epoch is still a function of (seed, epoch): a fresh
    pipeline (a resumed run) repeats it, its tail resumes at a batch, the next epoch differs;
    and the images differ from the same pipeline without it."""
    import tensorflow as tf

    from keras_resnet.data.pipeline import PipelineConfig, TrainingEpochs

    n, size = 16, 32
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, size, size, 3)).astype(np.uint8)
    source = tf.data.Dataset.from_tensor_slices((images, np.arange(n)))

    def run(epoch, first_batch=0, auto_augment="trivial"):
        cfg = PipelineConfig(size, 4, np.zeros(3), np.ones(3), seed=3, shuffle_buffer=n,
                             auto_augment=auto_augment)
        data = TrainingEpochs(source, cfg, n)
        return [(x.numpy(), y.numpy()) for x, y in data.epoch(epoch, first_batch)]

    first, again, tail = run(1), run(1), run(1, first_batch=2)
    for (x, y), (x2, y2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    for (x, _), (x2, _) in zip(first[2:], tail, strict=True):
        np.testing.assert_array_equal(x, x2)
    by_label = [{int(label): img for x, y in epoch for label, img in zip(y, x, strict=True)}
                for epoch in (first, run(2), run(1, auto_augment="none"))]
    assert sum(not np.array_equal(by_label[0][i], by_label[1][i]) for i in range(n)) >= n // 2
    assert sum(not np.array_equal(by_label[0][i], by_label[2][i]) for i in range(n)) >= n // 2
    assert all(0 <= x.min() and x.max() <= 255 for x, _ in first)


def test_auto_augment_needs_augmentation_and_a_known_name():
    from keras_resnet.data.pipeline import PipelineConfig

    with pytest.raises(ValueError, match="needs augmentation on"):
        PipelineConfig(32, 4, np.zeros(3), np.ones(3), augment="none", auto_augment="trivial")
    with pytest.raises(ValueError, match="use 'none' or 'trivial'"):
        PipelineConfig(32, 4, np.zeros(3), np.ones(3), auto_augment="rand")
