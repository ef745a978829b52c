"""A `.tflite` file as an editable tree (LiteRT's generated schema, object API) and back to
bytes, every buffer 16-byte aligned as the TFLite converter writes them. The metadata writer
and the per-operator profiler edit models through it."""

from __future__ import annotations

import flatbuffers
import numpy as np

#: The file identifier of TFLite models.
IDENTIFIER = b"TFL3"


def parse(model: bytes):
    """`model` as a ``schema_py_generated.ModelT`` tree (bytes after the flatbuffer, such as
    a packed label file, are not part of it)."""
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(bytearray(model), 0)


class _AlignedBuilder(flatbuffers.Builder):
    """A Builder whose byte vectors (the model's buffers) start on 16-byte boundaries."""

    def CreateNumpyVector(self, x):  # noqa: N802 (flatbuffers' name)
        if x.dtype != np.uint8:
            return super().CreateNumpyVector(x)
        self.StartVector(1, x.size, 16)
        payload = x.tobytes()
        self.head = self.head - len(payload)
        self.Bytes[self.head:self.head + len(payload)] = payload
        self.vectorNumElems = x.size
        return self.EndVector()


def pack(tree, size_hint: int = 1 << 20) -> bytes:
    """The bytes of the model `tree` (from `parse`, edited or not)."""
    for buffer in tree.buffers or []:  # numpy arrays, so that the aligned vectors are used
        if buffer.data is not None and not isinstance(buffer.data, np.ndarray):
            buffer.data = np.asarray(buffer.data, np.uint8)
    builder = _AlignedBuilder(size_hint)
    builder.Finish(tree.Pack(builder), file_identifier=IDENTIFIER)
    return bytes(builder.Output())
