"""TrivialAugment (Müller & Hutter 2021): one image operation per training image.

Each image gets one of 14 operations, drawn uniformly, at a strength drawn uniformly from
[0, 1] and mapped onto the operation's range; the sign of signed operations is a coin flip.
The ranges are RandAugment's (Cubuk et al. 2020, as torchvision implements them): shear up
to 0.3, translation up to 150/331 of the side, rotation up to 30 degrees, brightness, color,
contrast and sharpness factors 1 ± 0.9, posterize to 8..4 bits, solarize from a threshold of
256 down to 0. Every draw comes from a stateless seed, so the pipeline stays a function of
(run seed, epoch, position) and a resumed run sees the images an uninterrupted one would.

Images are float32 HxWx3 with values in [0, 255]; pixels that a geometric operation uncovers
are filled with 0, like the CIFAR crop's padding.
"""

from __future__ import annotations

import math

import tensorflow as tf

SHEAR = 0.3
TRANSLATE = 150 / 331
ROTATE_DEGREES = 30.0
ENHANCE = 0.9
POSTERIZE_BITS = 4  # the most bits removed
#: the operations, in the order of their index
OPERATIONS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
              "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
              "autocontrast", "equalize")

_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as Pillow's convert("L")


def trivial_augment(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """`image` (float32 HxWx3 in [0, 255]) after one random operation; `seed` is a stateless
    seed (shape [2]) that fixes the operation, its strength and its sign."""
    return apply(image, *draw(seed))


def draw(seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The operation (an index into `OPERATIONS`, uniform), its strength (uniform in [0, 1])
    and its sign (±1, even odds) that stateless `seed` picks."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    op = tf.random.stateless_uniform([], seeds[0], 0, len(OPERATIONS), tf.int32)
    strength = tf.random.stateless_uniform([], seeds[1])
    sign = tf.where(tf.random.stateless_uniform([], seeds[2]) < 0.5, -1.0, 1.0)
    return op, strength, sign


def apply(image: tf.Tensor, op, strength, sign=1.0) -> tf.Tensor:
    """`image` after operation number `op` (of `OPERATIONS`) at `strength` in [0, 1]."""
    image = tf.convert_to_tensor(image, tf.float32)
    signed = tf.cast(sign, tf.float32) * tf.cast(strength, tf.float32)
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    factor = 1.0 + ENHANCE * signed
    branches = [
        lambda: image,
        lambda: _affine(image, [1.0, SHEAR * signed, 0.0, 0.0, 1.0, 0.0]),
        lambda: _affine(image, [1.0, 0.0, 0.0, SHEAR * signed, 1.0, 0.0]),
        lambda: _affine(image, [1.0, 0.0, TRANSLATE * size[1] * signed, 0.0, 1.0, 0.0]),
        lambda: _affine(image, [1.0, 0.0, 0.0, 0.0, 1.0, TRANSLATE * size[0] * signed]),
        lambda: _rotate(image, ROTATE_DEGREES * signed),
        lambda: _blend(tf.zeros_like(image), image, factor),
        lambda: _blend(_gray(image), image, factor),
        lambda: _blend(tf.fill(tf.shape(image), _mean_gray(image)), image, factor),
        lambda: _blend(_smoothed(image), image, factor),
        lambda: _posterize(image, 8 - tf.round(POSTERIZE_BITS * tf.cast(strength, tf.float32))),
        lambda: tf.where(image >= 256.0 * (1.0 - tf.cast(strength, tf.float32)),
                         255.0 - image, image),
        lambda: _autocontrast(image),
        lambda: _equalize(image),
    ]
    return tf.switch_case(tf.cast(op, tf.int32), branches)


def _affine(image, matrix):
    """Output pixel (x, y) takes input pixel (a x + b y + c, d x + e y + f) for `matrix`
    [a, b, c, d, e, f], coordinates relative to the image centre."""
    a, b, c, d, e, f = (tf.cast(v, tf.float32) for v in matrix)
    height, width = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1],
                                                                       tf.float32)
    cx, cy = (width - 1) / 2, (height - 1) / 2  # shift to the centre, transform, shift back
    c = c + cx - a * cx - b * cy
    f = f + cy - d * cx - e * cy
    transform = tf.stack([a, b, c, d, e, f, 0.0, 0.0])[None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform, output_shape=tf.shape(image)[:2],
        fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT")
    return out[0]


def _rotate(image, degrees):
    """`image` turned by `degrees` counter-clockwise about its centre (Pillow's rotate)."""
    angle = degrees * math.pi / 180
    cos, sin = tf.cos(angle), tf.sin(angle)
    return _affine(image, [cos, -sin, 0.0, sin, cos, 0.0])


def _blend(degenerate, image, factor):
    """Pillow's ImageEnhance: `degenerate` at factor 0, `image` at 1, extrapolated beyond."""
    return tf.clip_by_value(degenerate + factor * (image - degenerate), 0.0, 255.0)


def _gray(image):
    luma = tf.tensordot(image, tf.constant(_LUMA), axes=1)
    return tf.repeat(luma[..., None], 3, axis=-1)


def _mean_gray(image):
    return tf.reduce_mean(_gray(image)[..., 0])


def _smoothed(image):
    """Pillow's SMOOTH filter (centre 5, neighbours 1, over 13) inside, the edge kept."""
    kernel = tf.constant([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, 3, 1])
    inner = tf.nn.depthwise_conv2d(image[None], kernel, [1, 1, 1, 1], "VALID")[0]
    inner = tf.pad(inner, [[1, 1], [1, 1], [0, 0]])
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    rows, cols = tf.range(height), tf.range(width)
    interior = ((rows > 0) & (rows < height - 1))[:, None, None] & (
        (cols > 0) & (cols < width - 1))[None, :, None]
    return tf.where(interior, inner, image)


def _posterize(image, bits):
    step = tf.pow(2.0, 8.0 - bits)
    return tf.floor(tf.round(image) / step) * step


def _autocontrast(image):
    """Each channel stretched from its own min..max to 0..255 (unchanged if flat)."""
    low = tf.reduce_min(image, axis=[0, 1], keepdims=True)
    high = tf.reduce_max(image, axis=[0, 1], keepdims=True)
    scale = tf.where(high > low, 255.0 / tf.maximum(high - low, 1e-6), 1.0)
    offset = tf.where(high > low, low, 0.0)
    return tf.clip_by_value((image - offset) * scale, 0.0, 255.0)


def _equalize(image):
    """Pillow's ImageOps.equalize, channel by channel."""
    pixels = tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.int32)
    return tf.stack([_equalize_channel(pixels[..., c]) for c in range(3)], axis=-1)


def _equalize_channel(channel):
    histogram = tf.math.bincount(tf.reshape(channel, [-1]), minlength=256, maxlength=256)
    last = tf.gather(histogram, tf.reduce_max(tf.where(histogram > 0)))
    step = (tf.reduce_sum(histogram) - last) // 255
    before = tf.cumsum(histogram, exclusive=True)
    lut = tf.minimum((before + step // 2) // tf.maximum(step, 1), 255)
    equalized = tf.cast(tf.gather(lut, channel), tf.float32)
    return tf.where(step > 0, equalized, tf.cast(channel, tf.float32))
