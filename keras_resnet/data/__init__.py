"""Image data for the apps: class folders, the tf.data input pipeline and its augmentations,
and the numpy loader of the JAX path."""
