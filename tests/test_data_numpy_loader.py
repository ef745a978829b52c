"""The TensorFlow-free input path: Pillow decoding, deterministic resumable batches, and the
device augmentation layers."""

import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_resnet.data.augment_layers import with_input_layers
from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.data.numpy_loader import ArrayBatches, decode_split, even_eval_batch_size


def test_decode_split_reads_every_image_with_its_label(image_folder):
    split = read_image_folder(str(image_folder), 0.25)["train"]
    images, labels = decode_split(split, 12, threads=2)
    assert images.shape == (27, 12, 12, 3) and images.dtype == np.uint8
    assert labels.tolist() == [0] * 9 + [1] * 9 + [2] * 9
    first = np.asarray(Image.open(split.paths[0]).convert("RGB"))
    np.testing.assert_array_equal(images[0], first)
    # The fixture's classes differ in brightness: the decoded pixels must show it.
    assert images[labels == 0].mean() < images[labels == 1].mean() < images[labels == 2].mean()


def test_decode_split_resizes_to_the_image_size(image_folder):
    split = read_image_folder(str(image_folder), 0.25)["val"]
    images, _ = decode_split(split, 20)
    assert images.shape == (9, 20, 20, 3)


def test_a_corrupt_image_is_named_in_the_error(image_folder):
    bad = image_folder / "cat" / "000.png"
    bad.write_bytes(b"not an image")
    split = read_image_folder(str(image_folder), 0.25)["train"]
    with pytest.raises(ValueError, match="000.png"):
        decode_split(split, 12)


def make_batches(n=10, batch=3, shuffle=True, seed=0):
    images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    return ArrayBatches(images, np.arange(n, dtype=np.int32), batch, shuffle, seed)


def epoch_labels(batches):
    return np.concatenate([batches[i][1] for i in range(len(batches))])


def test_training_batches_are_a_seeded_permutation_per_epoch():
    batches = make_batches()
    assert len(batches) == 3  # 10 images, batch 3: the partial batch is dropped
    first = epoch_labels(batches)
    assert len(set(first.tolist())) == 9
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (3, 2, 2, 3)
    np.testing.assert_array_equal(x[:, 0, 0, 0], y)  # images travel with their labels
    batches.set_epoch(1)
    assert not np.array_equal(epoch_labels(batches), first)
    batches.set_epoch(0)
    np.testing.assert_array_equal(epoch_labels(batches), first)  # same seed, same epoch
    np.testing.assert_array_equal(epoch_labels(make_batches()), first)
    assert not np.array_equal(epoch_labels(make_batches(seed=1)), first)


def test_resuming_mid_epoch_serves_the_remaining_batches():
    batches = make_batches()
    batches.set_epoch(4)
    whole = epoch_labels(batches)
    batches.set_epoch(4, first_batch=2)
    assert len(batches) == 1
    np.testing.assert_array_equal(epoch_labels(batches), whole[6:])


def test_evaluation_batches_keep_order_and_the_last_partial_batch():
    batches = make_batches(shuffle=False)
    assert len(batches) == 4
    np.testing.assert_array_equal(epoch_labels(batches), np.arange(10))


def test_bad_batches_fail_clearly():
    with pytest.raises(ValueError, match="fewer than one batch"):
        make_batches(n=2, batch=3)
    with pytest.raises(ValueError, match="labels"):
        ArrayBatches(np.zeros((3, 2, 2, 3)), np.zeros(2), 1, shuffle=False)


@pytest.mark.parametrize("examples,batch,replicas,expected", [
    (5000, 128, 1, 128), (5000, 128, 2, 128), (9, 8, 1, 8), (12, 8, 4, 8), (10, 7, 2, 6)])
def test_even_eval_batch_size(examples, batch, replicas, expected):
    size = even_eval_batch_size(examples, batch, replicas)
    assert size == expected and size % replicas == 0 and examples % size % replicas == 0


def test_even_eval_batch_size_refuses_an_odd_split():
    with pytest.raises(ValueError, match="multiple of 2"):
        even_eval_batch_size(9, 8, 2)


def identity_backbone(size=8):
    inputs = keras.Input((size, size, 3))
    return keras.Model(inputs, keras.layers.Identity()(inputs), name="backbone")


def test_input_layers_normalize_and_are_identities_at_inference():
    mean, std = np.array([10.0, 20.0, 30.0]), np.array([2.0, 4.0, 5.0])
    model = with_input_layers(identity_backbone(), mean, std, "cifar", seed=0)
    pixels = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(model(pixels, training=False))
    np.testing.assert_allclose(out, (pixels - mean) / std, rtol=1e-5, atol=1e-4)


def test_cifar_augmentation_shifts_by_whole_pixels_with_black_fill_and_flips():
    size = 16
    model = with_input_layers(identity_backbone(size), np.zeros(3), np.ones(3), "cifar", seed=3)
    pixels = np.broadcast_to(np.arange(1, size + 1, dtype="float32")[None, None, :, None],
                             (64, size, size, 3)).copy()  # column index + 1, never 0
    out = keras.ops.convert_to_numpy(model(pixels, training=True))
    assert out.shape == pixels.shape
    assert not np.allclose(out, pixels)  # something moved
    values = set(np.unique(out).tolist())
    assert values <= set(range(0, size + 1))  # whole-pixel shifts: no interpolated values
    assert (out == 0).any()  # the fill is black (0 before normalization)
    middle = out[:, size // 2, :, 0]  # inside the image whatever the vertical shift
    # A shift of at most 4 pixels: the row keeps at least size - 4 image columns.
    assert (middle > 0).sum(axis=1).min() >= size - 4
    flipped = np.array([row[row > 0][0] > row[row > 0][-1] for row in middle])
    assert flipped.any() and not flipped.all()  # some images flipped, some not


def test_imagenet_augmentation_is_refused_on_the_device_path():
    with pytest.raises(ValueError, match="tf.data"):
        with_input_layers(identity_backbone(), np.zeros(3), np.ones(3), "imagenet")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
