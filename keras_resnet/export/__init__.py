"""The exporter's library: Keras model -> SavedModel -> TFLite variants (`converter`), checked
against a float64 reference (`verify`, `reference`), with quantization-aware training (`qat`),
a report, and the on-device client (`predict`, a file that imports no keras_resnet). `run` is
the entry point."""
