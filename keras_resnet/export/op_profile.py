"""Where a `.tflite` model's time goes, operator by operator.

The LiteRT Python interpreter has no per-operator profiler (that lives in the C++
benchmark_model tool, which pip does not ship). So each operator is cut out of the model into
a model of its own: the same operator, options, weights and quantization parameters, its
activations as inputs. Each such model is timed as the whole model is (batch 1, XNNPACK, the
median of many runs); their sum against the whole model's time says how much is left to
framework overhead and fusion.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import numpy as np

from keras_resnet.export import flatbuffer


@dataclasses.dataclass(frozen=True)
class Operator:
    """One operator of a model: its position, type and shapes."""

    index: int
    op: str
    output_shape: tuple[int, ...]
    weight_shape: tuple[int, ...] | None

    @property
    def key(self) -> str:
        """Type and shapes: what pairs an operator of one variant with another's."""
        weights = "x".join(map(str, self.weight_shape)) if self.weight_shape else "-"
        return f"{self.op} {'x'.join(map(str, self.output_shape))} w{weights}"


@dataclasses.dataclass(frozen=True)
class OpTiming(Operator):
    """An operator and its median time alone."""

    dtype: str
    median_ms: float


def _op_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {value: name for name, value in vars(schema.BuiltinOperator).items()
            if not name.startswith("_")}


def _is_constant(tree, tensor) -> bool:
    data = tree.buffers[tensor.buffer].data if tensor.buffer < len(tree.buffers) else None
    return data is not None and len(data) > 0


@dataclasses.dataclass(frozen=True)
class SingleOperator(Operator):
    """An operator cut out into a model of its own."""

    model: bytes


def single_operator_models(model: bytes) -> list[SingleOperator]:
    """Every operator of the first subgraph, in execution order, as a model of its own."""
    from ai_edge_litert import schema_py_generated as schema

    names = _op_names()
    tree = flatbuffer.parse(model)
    graph = tree.subgraphs[0]
    operators, buffers = list(graph.operators), list(tree.buffers)
    tree.signatureDefs, tree.metadata = [], []
    empty = schema.BufferT()
    found = []
    try:
        for index, op in enumerate(operators):
            code = tree.operatorCodes[op.opcodeIndex]
            kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
            used = [t for t in op.inputs if t >= 0]
            keep = {graph.tensors[t].buffer for t in (*used, *op.outputs)}
            tree.buffers = [b if i in keep or i == 0 else empty for i, b in enumerate(buffers)]
            graph.operators = [op]
            graph.inputs = [t for t in used if not _is_constant(tree, graph.tensors[t])]
            graph.outputs = list(op.outputs)
            weights = [tuple(int(n) for n in graph.tensors[t].shape) for t in used
                       if _is_constant(tree, graph.tensors[t])
                       and len(graph.tensors[t].shape) >= 2]
            output = tuple(int(n) for n in graph.tensors[op.outputs[0]].shape)
            found.append(SingleOperator(index, kind, output, weights[0] if weights else None,
                                        flatbuffer.pack(tree)))
    finally:
        graph.operators, tree.buffers = operators, buffers
    return found


def _interpreter(model: bytes, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, num_threads=threads)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        dtype = np.dtype(detail["dtype"])
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            value = rng.integers(info.min, info.max, detail["shape"], endpoint=True)
        else:
            value = rng.normal(size=detail["shape"])
        interpreter.set_tensor(detail["index"], value.astype(dtype))
    return interpreter


def median_ms(model: bytes, runs: int, threads: int = 1, warmup: int = 5) -> float:
    """The median time of `runs` invocations of `model` (random inputs), in milliseconds."""
    interpreter = _interpreter(model, threads)
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def profile(model: bytes, runs: int = 100, threads: int = 1) -> list[OpTiming]:
    """Every operator of `model` timed alone (see the module's docstring)."""
    timings = []
    for single in single_operator_models(model):
        interpreter = _interpreter(single.model, threads)
        dtype = np.dtype(interpreter.get_output_details()[0]["dtype"]).name
        timings.append(OpTiming(single.index, single.op, single.output_shape,
                                single.weight_shape, dtype,
                                median_ms(single.model, runs, threads)))
    return timings
