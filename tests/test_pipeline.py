import sys

import numpy as np
import pytest

from keras_resnet.preprocessing import normalization_for
from training.image_folder import read_image_folder
from training.pipeline import PipelineConfig, batched, eval_batch_size, folder_source

pytestmark = pytest.mark.backend_independent  # tf.data code: the TensorFlow pass covers it


@pytest.fixture
def split(image_folder):
    return read_image_folder(str(image_folder), val_fraction=0.25)


def config(**kw):
    mean, std = normalization_for("cifar10")
    return PipelineConfig(**{"image_size": 12, "global_batch_size": 4, "mean": mean,
                             "std": std, "seed": 3, **kw})


def first_batch(ds):
    x, y = next(iter(ds))
    return x.numpy(), y.numpy()


def test_jpeg_pixels_are_pillows(tmp_path):
    """tf.data decodes JPEGs to the same pixels as Pillow (the numpy loader, the exporter and
    predict.py on the device): training and deployment see the same images."""
    from PIL import Image

    from training.numpy_loader import decode_split

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):  # smooth gradients plus noise: where the IDCT variants differ
            ramp = np.linspace(0, 200, 32)[None, :, None] + rng.integers(0, 55, (32, 32, 3))
            Image.fromarray(ramp.astype(np.uint8)).save(tmp_path / name / f"{i}.jpg", quality=75)
    train = read_image_folder(str(tmp_path), val_fraction=0.34)["train"]
    decoded = np.stack([image.numpy() for image, _ in folder_source(train)])
    pillow, _ = decode_split(train, 32)
    np.testing.assert_array_equal(decoded, pillow)


def test_eval_batches_are_the_normalized_images(split):
    x, y = first_batch(batched(folder_source(split["val"]), config(), training=False))
    raw = np.asarray(__import__("PIL.Image").Image.open(split["val"].paths[0]), np.float32)
    mean, std = normalization_for("cifar10")
    np.testing.assert_allclose(x[0], (raw - mean) / std, atol=1e-5)
    assert x.dtype == np.float32 and y.dtype == np.int32 and list(y) == [0, 0, 0, 1]


def test_training_batches_are_shuffled_augmented_and_repeatable(split):
    ds = batched(folder_source(split["train"]), config(), training=True)
    x1, y1 = first_batch(ds)
    x2, y2 = first_batch(batched(folder_source(split["train"]), config(), training=True))
    assert x1.shape == (4, 12, 12, 3)
    np.testing.assert_array_equal(x1, x2)  # same seed, same batch
    np.testing.assert_array_equal(y1, y2)
    x3, _ = first_batch(batched(folder_source(split["train"]), config(seed=4), training=True))
    assert not np.array_equal(x1, x3)
    assert sum(1 for _ in ds) == 6  # 27 images -> 6 full batches, remainder dropped


def test_padding_shows_as_black_borders(split):
    # With 4-pixel zero padding and a random crop, some image has a black (0..255 = 0) edge.
    cfg = config(global_batch_size=27)
    x, _ = first_batch(batched(folder_source(split["train"]), cfg, training=True))
    mean, std = normalization_for("cifar10")
    black = (0 - mean) / std
    edges = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    assert np.isclose(edges, black, atol=1e-4).all(axis=-1).any()


def test_imagenet_augmentation_resizes(split):
    cfg = config(image_size=8, augment="imagenet")
    x, _ = first_batch(batched(folder_source(split["train"]), cfg, training=True))
    assert x.shape == (4, 8, 8, 3)
    x, _ = first_batch(batched(folder_source(split["val"]), cfg, training=False))
    assert x.shape == (4, 8, 8, 3)


@pytest.mark.parametrize("n,batch,replicas,expected", [
    (5000, 128, 1, 128), (5000, 128, 2, 128), (9, 8, 2, 6), (10, 8, 2, 8), (13, 8, 4, 8),
])
def test_eval_batch_never_leaves_a_replica_empty(n, batch, replicas, expected):
    size = eval_batch_size(n, batch, replicas)
    assert size == expected and size % replicas == 0
    assert n % size == 0 or n % size >= replicas


def test_eval_batch_impossible_split_is_a_clear_error():
    with pytest.raises(ValueError, match="9 validation images"):
        eval_batch_size(9, 8, 4)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def _ramps(n: int, size: int = 12):
    """`n` images brighter to the right (never black), labelled 0..n-1: a flip shows as a
    row that darkens to the right, whatever the zero-filled shift of the crop."""
    import tensorflow as tf

    ramp = np.broadcast_to((20 + 15 * np.arange(size))[None, :, None], (size, size, 3))
    images = np.repeat(ramp[None].astype(np.uint8), n, axis=0)
    return tf.data.Dataset.from_tensor_slices((images, np.arange(n)))


def _flipped(batch_images) -> list[bool]:
    flips = []
    for image in batch_images:
        row = image[image.shape[0] // 2, :, 0]
        row = row[row > 0]  # drop the black fill of the shift
        flips.append(bool(row[0] > row[-1]))
    return flips


def test_alternating_flip_mirrors_each_image_every_other_epoch():
    n = 16
    cfg = config(flip="alternating", mean=np.zeros(3), std=np.ones(3), shuffle_buffer=n)
    seen: list[dict[int, bool]] = [{}, {}, {}]
    for step, (x, y) in enumerate(batched(_ramps(n), cfg, training=True).take(3 * n // 4)):
        for label, flip in zip(y.numpy(), _flipped(x.numpy()), strict=True):
            seen[step * 4 // n][int(label)] = flip
    assert all(len(epoch) == n for epoch in seen)  # every image once per epoch
    assert all(seen[1][i] != seen[0][i] and seen[2][i] == seen[0][i] for i in range(n))
    assert 0 < sum(seen[0].values()) < n  # the first epoch's flips are random


def test_random_flip_repeats_images_unflipped_across_epochs():
    """The contrast to the test above: random flips leave some images the same way round in
    two epochs running, which is what alternating flips avoid."""
    n = 16
    cfg = config(mean=np.zeros(3), std=np.ones(3), shuffle_buffer=n)
    ds = batched(_ramps(n), cfg, training=True).repeat()
    seen: list[dict[int, bool]] = [{}, {}]
    for step, (x, y) in enumerate(ds.take(2 * n // 4)):
        for label, flip in zip(y.numpy(), _flipped(x.numpy()), strict=True):
            seen[step * 4 // n][int(label)] = flip
    assert any(seen[1][i] == seen[0][i] for i in range(n))


def test_alternating_flip_without_augmentation_is_a_clear_error():
    with pytest.raises(ValueError, match="needs augmentation"):
        batched(_ramps(4), config(flip="alternating", augment="none"), training=True)


def test_cutout_blanks_one_square_to_the_mean():
    """Flat grey images (100) with mean 50: after normalization the zero-fill of the crop's
    shift reads -50, the image 50, and the Cutout patch 0 (the mean) — one square of side
    at most `cutout`, clipped where it hangs over the edge."""
    import tensorflow as tf

    n, side = 32, 5
    images = np.full((n, 12, 12, 3), 100, np.uint8)
    source = tf.data.Dataset.from_tensor_slices((images, np.arange(n)))
    mean = np.full(3, 50.0)
    cfg = config(cutout=side, mean=mean, std=np.ones(3), global_batch_size=n, shuffle_buffer=n)
    x, _ = first_batch(batched(source, cfg, training=True))
    areas = []
    for image in x[..., 0]:
        rows, cols = np.nonzero(image == 0)
        areas.append(len(rows))
        if len(rows):
            height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
            assert height <= side and width <= side and len(rows) == height * width
    assert max(areas) == side * side and min(areas) < side * side  # whole and clipped
    plain, _ = first_batch(batched(source, config(mean=mean, std=np.ones(3),
                                                  global_batch_size=n), training=True))
    assert not np.any(plain == 0)


def test_cutout_without_augmentation_is_a_clear_error():
    with pytest.raises(ValueError, match="cutout=4"):
        batched(_ramps(4), config(cutout=4, augment="none"), training=True)
