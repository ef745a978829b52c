"""Standard TFLite model metadata on an exported ``.tflite``, so that mobile runtimes take it
as it is: MediaPipe Tasks' ImageClassifier and the TFLite Task Library read from it how to
normalize the input (a float model is refused without it), the class names (the label file
packed into the model) and a description.

The metadata is a flatbuffer of the schema ``tensorflow_lite_support/metadata/
metadata_schema.fbs`` (file identifier "M001"), written here with the `flatbuffers` package
field by field: mediapipe 1.2.3's own writers fail to import, and the tflite-support package
does not install beside TensorFlow 2.21. It goes into the model as a buffer named
``TFLITE_METADATA`` (the model is re-packed with LiteRT's generated schema, every buffer kept
16-byte aligned as the converter writes them), and the label file is appended as a zip, as the
standard metadata populator does.
"""

from __future__ import annotations

import io
import struct
import zipfile

import flatbuffers
import numpy as np

from keras_resnet.export import flatbuffer

#: The model's metadata entry that names the metadata buffer.
METADATA_NAME = "TFLITE_METADATA"
#: The label file packed into the model.
LABEL_FILE = "labels.txt"
#: The oldest metadata parser that reads every field written here.
MIN_PARSER_VERSION = "1.0.0"

# metadata_schema.fbs enums and union members used here.
_TENSOR_AXIS_LABELS = 2
_RGB = 1
_IMAGE_PROPERTIES = 2  # ContentProperties
_FEATURE_PROPERTIES = 1  # ContentProperties
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions


class _Table:
    """Writes one table: `fields` is [(slot, kind, value)] with kind "offset", "uint8",
    "uint32"; None values are left out."""

    def __init__(self, builder: flatbuffers.Builder):
        self.builder = builder

    def __call__(self, fields: list[tuple[int, str, object]]) -> int:
        b = self.builder
        present = [f for f in fields if f[2] is not None]
        b.StartObject(max((slot for slot, _, _ in fields), default=-1) + 1)
        for slot, kind, value in present:
            if kind == "offset":
                b.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "uint8":
                b.PrependUint8Slot(slot, value, 0)
            elif kind == "uint32":
                b.PrependUint32Slot(slot, value, 0)
        return b.EndObject()


def _strings(builder, values: list[str]) -> list[int]:
    return [builder.CreateString(v) for v in values]


def _vector(builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _floats(builder, values) -> int:
    return builder.CreateNumpyVector(np.asarray(values, "<f4"))


def metadata_buffer(*, name: str, description: str, version: str, input_size: tuple[int, int],
                    mean, std, class_count: int, output: str = "logits",
                    author: str = "keras-resnet", license: str = "") -> bytes:
    """The metadata flatbuffer of an image classifier: RGB input of `input_size` normalized
    as (x - mean) / std, one output of `class_count` scores (`output`: "logits" or
    "probabilities") labelled by LABEL_FILE."""
    b = flatbuffers.Builder(1024)
    table = _Table(b)
    name_s, description_s, version_s, author_s, license_s, parser_s = _strings(
        b, [name, description, version, author, license, MIN_PARSER_VERSION])
    label_name, label_text = _strings(b, [LABEL_FILE, "The class names, one per line, in "
                                                      "the order of the output."])
    labels = table([(0, "offset", label_name), (1, "offset", label_text),
                    (2, "uint8", _TENSOR_AXIS_LABELS)])
    # input: an RGB image, normalized out of graph
    height, width = input_size
    size = table([(0, "uint32", width), (1, "uint32", height)])
    image = table([(0, "uint8", _RGB), (1, "offset", size)])
    content_in = table([(0, "uint8", _IMAGE_PROPERTIES), (1, "offset", image)])
    mean_v, std_v = _floats(b, mean), _floats(b, std)
    normalization = table([(0, "offset", mean_v), (1, "offset", std_v)])
    unit = table([(0, "uint8", _NORMALIZATION_OPTIONS), (1, "offset", normalization)])
    units = _vector(b, [unit])
    min_v, max_v = _floats(b, [0.0]), _floats(b, [255.0])
    stats = table([(0, "offset", max_v), (1, "offset", min_v)])
    in_name, in_text = _strings(b, ["image", f"RGB image of {width}x{height} pixels, values "
                                             "0..255 before the normalization"])
    tensor_in = table([(0, "offset", in_name), (1, "offset", in_text), (3, "offset", content_in),
                       (4, "offset", units), (5, "offset", stats)])
    # output: class probabilities, labelled
    feature = table([])
    content_out = table([(0, "uint8", _FEATURE_PROPERTIES), (1, "offset", feature)])
    out_text = (f"Probabilities of the {class_count} classes" if output == "probabilities" else
                f"Scores of the {class_count} classes before the softmax (logits): the same "
                "ranking as the probabilities")
    out_name, out_text = _strings(b, [output, out_text])
    out_files = _vector(b, [labels])
    tensor_out = table([(0, "offset", out_name), (1, "offset", out_text),
                        (3, "offset", content_out), (6, "offset", out_files)])
    inputs, outputs = _vector(b, [tensor_in]), _vector(b, [tensor_out])
    subgraph = table([(0, "offset", name_s), (2, "offset", inputs), (3, "offset", outputs)])
    subgraphs = _vector(b, [subgraph])
    model = table([(0, "offset", name_s), (1, "offset", description_s), (2, "offset", version_s),
                   (3, "offset", subgraphs), (4, "offset", author_s),
                   (5, "offset", license_s if license else None),
                   (7, "offset", parser_s)])
    b.Finish(model, file_identifier=b"M001")
    return bytes(b.Output())


def populate(model: bytes, metadata: bytes, labels: list[str]) -> bytes:
    """`model` with `metadata` as its TFLITE_METADATA buffer (replacing one it had) and the
    label file packed after it."""
    from ai_edge_litert import schema_py_generated as schema

    tree = flatbuffer.parse(model)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata, np.uint8)
    tree.buffers = list(tree.buffers or [])
    entries = [m for m in (tree.metadata or []) if _name(m) != METADATA_NAME]
    tree.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(tree.buffers) - 1
    tree.metadata = [*entries, entry]
    packed = io.BytesIO(flatbuffer.pack(tree, len(model) + len(metadata) + 1024))
    packed.seek(0, io.SEEK_END)
    with zipfile.ZipFile(packed, "a") as archive:
        # A fixed date: one model and labels give the same bytes whenever they are exported.
        archive.writestr(zipfile.ZipInfo(LABEL_FILE, date_time=(1980, 1, 1, 0, 0, 0)),
                         "\n".join(labels) + "\n")
    return packed.getvalue()


def _name(entry) -> str:
    name = entry.name
    return name.decode() if isinstance(name, bytes) else str(name)


def read(model: bytes) -> dict:
    """What an exported model's metadata says, for predict.py and the tests: the labels (from
    the packed file), and the normalization mean/std; {} when the model has none."""
    from ai_edge_litert import schema_py_generated as schema

    try:
        tree = schema.Model.GetRootAs(model, 0)
        index = next((tree.Metadata(i).Buffer() for i in range(tree.MetadataLength())
                      if tree.Metadata(i).Name().decode() == METADATA_NAME), None)
        if index is None:
            return {}
        raw = tree.Buffers(index).DataAsNumpy()
        if not isinstance(raw, np.ndarray):
            raise TypeError(f"the metadata buffer is {raw!r}, not bytes")
    except (struct.error, AttributeError, IndexError, TypeError, UnicodeDecodeError,
            ValueError) as err:  # offsets past the end, a damaged table
        raise ValueError(f"not a readable .tflite model: {type(err).__name__}: {err}") from None
    found = {"metadata_bytes": len(raw.tobytes())}
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            found["labels"] = archive.read(LABEL_FILE).decode().split()
    except (zipfile.BadZipFile, KeyError):
        pass
    return found
