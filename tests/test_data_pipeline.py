import sys

import numpy as np
import pytest

from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.data.pipeline import (
    PipelineConfig,
    TrainingEpochs,
    eval_batch_size,
    evaluation_batches,
    folder_source,
)
from keras_resnet.preprocessing import normalization_for

pytestmark = pytest.mark.backend_independent  # tf.data code: the TensorFlow pass covers it


@pytest.fixture
def split(image_folder):
    return read_image_folder(str(image_folder), val_fraction=0.25)


def config(**kw):
    mean, std = normalization_for("cifar10")
    return PipelineConfig(**{"image_size": 12, "global_batch_size": 4, "mean": mean,
                             "std": std, "seed": 3, **kw})


def epochs(source, cfg) -> TrainingEpochs:
    return TrainingEpochs(source, cfg, int(source.cardinality()))


def train_split(split, cfg) -> TrainingEpochs:
    return TrainingEpochs(folder_source(split["train"]), cfg, len(split["train"]))


def first_batch(ds):
    x, y = next(iter(ds))
    return x.numpy(), y.numpy()


def test_jpeg_pixels_are_pillows(tmp_path):
    """tf.data decodes JPEGs to the same pixels as Pillow (the numpy loader, the exporter and
    predict.py on the device): training and deployment see the same images."""
    from PIL import Image

    from keras_resnet.data.numpy_loader import decode_split

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


def test_photos_in_every_format_and_mode_decode_alike_on_both_paths(tmp_path):
    """JPEG (RGB, grey, CMYK), PNG (RGBA, 16-bit grey, palette), BMP, GIF and WebP in a class
    folder: listed, and decoded by tf.data and by the numpy loader to the same 8-bit RGB (JPEG
    within its decoders' rounding). 16-bit grey scales to 0..255 on both (Pillow's own
    convert("RGB") would clip it)."""
    from PIL import Image

    from keras_resnet.data.numpy_loader import decode_split

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    grey16 = (rng.integers(0, 256, (16, 16)) * 257).astype(np.uint16)
    images = {
        "jpeg_rgb.jpg": (Image.fromarray(rgb), "JPEG"),
        "jpeg_grey.jpeg": (Image.fromarray(rgb[..., 0]), "JPEG"),
        "jpeg_cmyk.jpg": (Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "png_rgba.png": (Image.fromarray(np.dstack([rgb, rgb[..., :1]])), "PNG"),
        "png_grey16.png": (Image.fromarray(grey16), "PNG"),
        "png_palette.png": (Image.fromarray(rgb).convert("P"), "PNG"),
        "bmp.bmp": (Image.fromarray(rgb), "BMP"),
        "gif.gif": (Image.fromarray(rgb).convert("P"), "GIF"),
        "webp.webp": (Image.fromarray(rgb), "WEBP"),
    }
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for name, (image, kind) in images.items():
            image.save(tmp_path / folder / name, kind)
    splits = read_image_folder(str(tmp_path), val_fraction=0.1)
    assert len(splits["train"]) + len(splits["val"]) == 2 * len(images)
    for split in splits.values():
        decoded = np.stack([image.numpy() for image, _ in folder_source(split)])
        pillow, _ = decode_split(split, 16)
        for path, ours, theirs in zip(split.paths, decoded, pillow, strict=True):
            tolerance = 4 if path.endswith(("jpg", "jpeg")) else 0
            assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= tolerance, path
            if path.endswith("png_grey16.png"):
                np.testing.assert_array_equal(theirs[..., 0],
                                              np.round(grey16 / 257).astype(np.uint8))


def test_eval_batches_are_the_normalized_images(split):
    x, y = first_batch(evaluation_batches(folder_source(split["val"]), config()))
    raw = np.asarray(__import__("PIL.Image").Image.open(split["val"].paths[0]), np.float32)
    mean, std = normalization_for("cifar10")
    np.testing.assert_allclose(x[0], (raw - mean) / std, atol=1e-5)
    assert x.dtype == np.float32 and y.dtype == np.int32 and list(y) == [0, 0, 0, 1]


def test_training_batches_are_shuffled_augmented_and_repeatable(split):
    ds = train_split(split, config()).epoch(0)
    x1, y1 = first_batch(ds)
    x2, y2 = first_batch(train_split(split, config()).epoch(0))
    assert x1.shape == (4, 12, 12, 3)
    np.testing.assert_array_equal(x1, x2)  # same seed, same batch
    np.testing.assert_array_equal(y1, y2)
    x3, _ = first_batch(train_split(split, config(seed=4)).epoch(0))
    assert not np.array_equal(x1, x3)
    assert sum(1 for _ in ds) == 6  # 27 images -> 6 full batches, remainder dropped


def test_padding_shows_as_black_borders(split):
    # With 4-pixel zero padding and a random crop, some image has a black (0..255 = 0) edge.
    cfg = config(global_batch_size=27)
    x, _ = first_batch(train_split(split, cfg).epoch(0))
    mean, std = normalization_for("cifar10")
    black = (0 - mean) / std
    edges = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    assert np.isclose(edges, black, atol=1e-4).all(axis=-1).any()


def test_imagenet_augmentation_resizes(split):
    cfg = config(image_size=8, augment="imagenet")
    x, _ = first_batch(train_split(split, cfg).epoch(0))
    assert x.shape == (4, 8, 8, 3)
    x, _ = first_batch(evaluation_batches(folder_source(split["val"]), cfg))
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


def _flips_by_label(ds) -> dict[int, bool]:
    return {int(label): flip for x, y in ds
            for label, flip in zip(y.numpy(), _flipped(x.numpy()), strict=True)}


def test_alternating_flip_mirrors_each_image_every_other_epoch():
    """Each epoch is its own dataset (the trainer's fit per epoch makes a new iterator every
    time): the alternation comes from the epoch number, not from an iterator's count."""
    n = 16
    cfg = config(flip="alternating", mean=np.zeros(3), std=np.ones(3), shuffle_buffer=n)
    data = epochs(_ramps(n), cfg)
    seen = [_flips_by_label(data.epoch(e)) for e in range(3)]
    assert all(len(epoch) == n for epoch in seen)  # every image once per epoch
    assert all(seen[1][i] != seen[0][i] and seen[2][i] == seen[0][i] for i in range(n))
    assert 0 < sum(seen[0].values()) < n  # the first epoch's flips are random
    # A fresh object (a resumed process) gives epoch 2 the same flips.
    assert _flips_by_label(epochs(_ramps(n), cfg).epoch(2)) == seen[2]


def test_alternating_flip_continues_in_the_endless_stream():
    n = 16
    cfg = config(flip="alternating", mean=np.zeros(3), std=np.ones(3), shuffle_buffer=n)
    stream = list(epochs(_ramps(n), cfg).stream().take(3 * n // 4))
    seen = [_flips_by_label(stream[e * n // 4:(e + 1) * n // 4]) for e in range(3)]
    assert all(seen[1][i] != seen[0][i] and seen[2][i] == seen[0][i] for i in range(n))


@pytest.mark.parametrize("global_seed", [None, 0, 5, 2**31 - 1])
def test_endless_stream_gives_the_epochs_batches_whatever_the_global_seed(global_seed):
    """`stream` shuffles inside flat_map, with a symbolic seed: a global seed of 0 (mod
    2**31-1) once made that fail; each epoch of the stream equals `epoch(e)`."""
    import tensorflow as tf

    n = 24
    cfg = config(mean=np.zeros(3), std=np.ones(3), shuffle_buffer=8)
    tf.compat.v1.set_random_seed(global_seed)
    try:
        data = epochs(_ramps(n), cfg)
        stream = [(x.numpy(), y.numpy()) for x, y in data.stream(1).take(2 * n // 4)]
        by_epoch = [(x.numpy(), y.numpy()) for e in (1, 2) for x, y in data.epoch(e)]
    finally:
        tf.compat.v1.set_random_seed(None)
    assert len(stream) == len(by_epoch) == 2 * n // 4
    for (xs, ys), (xe, ye) in zip(stream, by_epoch, strict=True):
        np.testing.assert_array_equal(ys, ye)
        np.testing.assert_array_equal(xs, xe)


def test_random_flip_crop_and_order_change_every_epoch():
    """The per-epoch random state (order, crop offset, flip) differs between epochs, also
    when each epoch gets a fresh iterator, and repeats exactly for the same epoch."""
    n = 16
    cfg = config(mean=np.zeros(3), std=np.ones(3), shuffle_buffer=n)
    data = epochs(_ramps(n), cfg)
    batches = [[(x.numpy(), y.numpy()) for x, y in data.epoch(e)] for e in range(3)]
    orders = [np.concatenate([y for _, y in epoch]) for epoch in batches]
    assert all(sorted(order) == list(range(n)) for order in orders)
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    images = [{int(label): image for x, y in epoch for label, image in zip(y, x, strict=True)}
              for epoch in batches]
    changed = [sum(not np.array_equal(images[e][i], images[e + 1][i]) for i in range(n))
               for e in range(2)]
    assert min(changed) >= n // 2  # crops and flips drawn anew each epoch
    flips = [_flips_by_label(data.epoch(e)) for e in range(3)]
    assert any(flips[1][i] == flips[0][i] for i in range(n))  # random, not alternating
    assert any(flips[1][i] != flips[0][i] for i in range(n))
    again = [(x.numpy(), y.numpy()) for x, y in epochs(_ramps(n), cfg).epoch(1)]
    for (x, y), (x2, y2) in zip(batches[1], again, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)


def test_a_resumed_epoch_continues_at_its_batch():
    """epoch(e, first_batch=k) is the tail of epoch e from batch k: a run stopped mid-epoch
    and resumed (another process, another machine) sees the batches it had not seen."""
    n = 16
    cfg = config(mean=np.zeros(3), std=np.ones(3), shuffle_buffer=n)
    whole = [(x.numpy(), y.numpy()) for x, y in epochs(_ramps(n), cfg).epoch(3)]
    tail = [(x.numpy(), y.numpy()) for x, y in epochs(_ramps(n), cfg).epoch(3, first_batch=2)]
    assert len(whole) == 4 and len(tail) == 2
    for (x, y), (x2, y2) in zip(whole[2:], tail, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="first_batch=5"):
        epochs(_ramps(n), cfg).epoch(0, first_batch=5)


def test_unseeded_epochs_are_a_clear_error():
    with pytest.raises(ValueError, match="needs a seed"):
        epochs(_ramps(4), config(seed=None)).epoch(0)


def test_alternating_flip_without_augmentation_is_a_clear_error():
    with pytest.raises(ValueError, match="needs augmentation"):
        epochs(_ramps(4), config(flip="alternating", augment="none")).epoch(0)


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
    x, _ = first_batch(epochs(source, cfg).epoch(0))
    areas = []
    for image in x[..., 0]:
        rows, cols = np.nonzero(image == 0)
        areas.append(len(rows))
        if len(rows):
            height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
            assert height <= side and width <= side and len(rows) == height * width
    assert max(areas) == side * side and min(areas) < side * side  # whole and clipped
    plain, _ = first_batch(epochs(source, config(mean=mean, std=np.ones(3),
                                                 global_batch_size=n)).epoch(0))
    assert not np.any(plain == 0)


def test_cutout_without_augmentation_is_a_clear_error():
    with pytest.raises(ValueError, match="cutout=4"):
        epochs(_ramps(4), config(cutout=4, augment="none")).epoch(0)
