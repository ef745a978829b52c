"""The training loss matches Keras' one-hot label smoothing without building one-hot labels;
the distillation term is T^2 times the KL divergence of the softened predictions."""

import sys

import keras
import numpy as np
import pytest

from keras_resnet.train.losses import SmoothedSparseCrossentropy, SoftTargetKL, classification_loss


@pytest.fixture
def logits_and_labels():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 10)).astype("float32") * 3, rng.integers(0, 10, size=(8,))


def test_no_smoothing_is_keras_sparse_crossentropy(logits_and_labels):
    logits, labels = logits_and_labels
    loss = classification_loss(0.0)
    assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy)
    reference = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(float(loss(labels, logits)), float(reference), rtol=1e-6)


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_smoothing_matches_one_hot_label_smoothing(logits_and_labels, smoothing):
    logits, labels = logits_and_labels
    ours = classification_loss(smoothing, reduction="none")(labels[:, None], logits)
    reference = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=smoothing, reduction="none")(
        keras.utils.to_categorical(labels, 10), logits)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(reference), rtol=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    assert not np.allclose(np.asarray(ours), np.asarray(plain(labels, logits)))


def test_smoothing_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        SmoothedSparseCrossentropy(1.0)


def kl_divergence(teacher: np.ndarray, student: np.ndarray, t: float) -> np.ndarray:
    def log_softmax(z):
        z = z / t
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    lt, ls = log_softmax(teacher), log_softmax(student)
    return t * t * (np.exp(lt) * (lt - ls)).sum(-1)


def test_soft_target_kl_is_t_squared_kl_and_zero_where_the_networks_agree():
    rng = np.random.default_rng(0)
    teacher, student = (rng.normal(size=(6, 10)).astype("float32") * 3 for _ in range(2))
    for t in (1.0, 4.0):
        ours = SoftTargetKL(t, reduction="none")(teacher, student)
        np.testing.assert_allclose(np.asarray(ours), kl_divergence(teacher, student, t), rtol=1e-5)
        assert float(SoftTargetKL(t)(teacher, teacher)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        SoftTargetKL(0.0)



if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
