"""ONNX models in: their Conv, Gemm and MatMul nodes with constant weights become the
network's layers, with INT8 weights.

Weights come quantized as the model has them where it has them (an INT8 initializer
through a per-tensor ``DequantizeLinear``, the QDQ form ONNX Runtime's quantizer writes),
otherwise per-layer symmetric INT8 (``scale = max|w| / 127``, zero point 0). A
convolution's padding goes into its IFMAP size (the topology convention); its kernel is
reordered to our rows (filter row, filter column, channel), and a fully connected layer
reading a flattened NCHW map has its rows reordered from (channel, row, column) to our
HWC order. The nodes between the layers (activations, pooling, residual adds,
reshapes, attention's products of two activations, normalizations) are glue, as in a
topology file: listed in :attr:`OnnxNetwork.glue`, not mapped to crossbars. Any other
node is an error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware import network as network_module
from firmware.network import Layer, LayerWeights, Network, NetworkError, check_layer_size

#: Nodes that are glue between weight layers (no stationary weights).
GLUE_OPS = frozenset({
    "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Gelu", "Erf", "Softmax", "HardSwish",
    "HardSigmoid", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add",
    "Sub", "Mul", "Div", "Pow", "Sqrt", "ReduceMean", "Concat", "Flatten", "Reshape",
    "Transpose", "Squeeze", "Unsqueeze", "Shape", "Gather", "Slice", "Cast", "Identity",
    "Dropout", "Constant", "BatchNormalization", "LayerNormalization", "Pad",
    "QuantizeLinear", "DequantizeLinear", "Split", "Expand", "Where", "Equal",
    "ConstantOfShape", "Range", "Neg", "Exp", "Log", "Min", "Max",
})
#: Glue that passes a tensor's layout through unchanged (a flattened map stays one).
_ELEMENTWISE = frozenset({"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Gelu",
                          "Identity", "Dropout", "QuantizeLinear", "DequantizeLinear"})


@dataclass(frozen=True)
class OnnxNetwork:
    """A network read from an ONNX model: its layers, their INT8 weights by layer name,
    and the op types of the glue nodes between them, in graph order."""

    network: Network
    weights: dict[str, LayerWeights]
    glue: tuple[str, ...]


def symmetric_int8(w: np.ndarray) -> LayerWeights:
    """Per-layer symmetric INT8: ``scale = max|w| / 127``, zero point 0."""
    peak = float(np.abs(w).max()) if w.size else 0.0
    scale = peak / 127 if peak > 0 else 1.0
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return LayerWeights(q, scale, 0)


def read_onnx(path: str | Path) -> OnnxNetwork:
    """The network and INT8 weights of an ONNX model; errors name the file and node."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise NetworkError(f"{path}: reading ONNX needs the onnx package (pip install "
                           "onnx)") from None
    path = Path(path)
    try:
        model = onnx.load(str(path))
        model = onnx.shape_inference.infer_shapes(model)
    except FileNotFoundError:
        raise NetworkError(f"{path}: cannot read ONNX model: no such file") from None
    except Exception as exc:   # onnx raises DecodeError, ValidationError, ...
        raise NetworkError(f"{path}: not a readable ONNX model ({exc})") from None
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    shapes = {v.name: _dims(v) for v in (*graph.input, *graph.value_info, *graph.output)}
    quantized: dict[str, tuple[np.ndarray, float, int]] = {}
    flat: dict[str, tuple[int, int, int]] = {}    # flattened NCHW maps: (C, H, W)
    layers: list[Layer] = []
    weights: dict[str, LayerWeights] = {}
    glue: list[str] = []
    for index, node in enumerate(graph.node):
        op = node.op_type
        name = node.name or f"{op.lower()}{index}"
        where = f"{path}: node {index} '{name}' ({op})"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if op == "Constant" and "value" in attrs:
            consts[node.output[0]] = numpy_helper.to_array(attrs["value"])
        if op == "DequantizeLinear" and node.input[0] in consts:
            _quantized_weight(node, consts, quantized, where)
            continue
        if op == "Conv" and _const(node.input[1], consts, quantized):
            layer, lw = _conv(node, attrs, consts, quantized, shapes, name, where)
        elif op in ("Gemm", "MatMul") and _const(node.input[1], consts, quantized):
            layer, lw = _dense(node, op, attrs, consts, quantized, shapes, flat, name, where)
        elif op == "Conv":
            raise NetworkError(f"{where}: its kernel '{node.input[1]}' is not a constant "
                               "(an initializer, or INT8 through DequantizeLinear)")
        elif op in GLUE_OPS or op in ("Gemm", "MatMul"):
            glue.append(f"{op} of two activations" if op in ("Gemm", "MatMul") else op)
            _track_flat(node, op, shapes, flat)
            continue
        else:
            raise NetworkError(f"{where}: not supported; expected Conv, Gemm or MatMul with "
                               "constant weights, or glue ("
                               + ", ".join(sorted(GLUE_OPS)) + ")")
        if layer.name in weights:
            raise NetworkError(f"{where}: a second layer named '{layer.name}'")
        check_layer_size(layer, where)
        layers.append(layer)
        weights[layer.name] = lw
    if not layers:
        raise NetworkError(f"{path}: no Conv, Gemm or MatMul node with constant weights")
    return OnnxNetwork(Network(path.stem, tuple(layers), str(path)), weights, tuple(glue))


def load_network(name_or_path: str) -> Network:
    """A network a command or report names: a built-in name or topology CSV
    (:func:`firmware.network.load`), or an ONNX model (``.onnx``)."""
    if Path(name_or_path).suffix.lower() == ".onnx":
        return read_onnx(name_or_path).network
    return network_module.load(name_or_path)


def load_int8(name_or_path: str, seed: int = 0, weights: str | None = None
              ) -> tuple[Network, list[np.ndarray]]:
    """That network and its INT8 weights, layer by layer: an ONNX model's own, else
    ``weights`` (an .npz) or seeded synthetic ones (:func:`firmware.network.weights`)."""
    if Path(name_or_path).suffix.lower() == ".onnx":
        model = read_onnx(name_or_path)
        return model.network, [model.weights[la.name].q for la in model.network.layers]
    net = network_module.load(name_or_path)
    return net, [w.q for _, w in network_module.weights(net, seed, weights)]


def _dims(value) -> list[int] | None:
    """A tensor's static shape (a symbolic batch dimension, the first, taken as 1), or
    None if it is not known (another dimension symbolic, such as a sequence length)."""
    t = value.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    if dims and dims[0] is None:
        dims[0] = 1
    return None if None in dims else dims


def _quantized_weight(node, consts: dict, quantized: dict, where: str) -> None:
    """Record a DequantizeLinear of an INT8 initializer (per tensor): the weights as the
    model quantized them. Per-channel scales are dequantized and requantized per layer."""
    x = consts[node.input[0]]
    scale = consts.get(node.input[1])
    zero = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if x.dtype != np.int8 or scale is None:
        raise NetworkError(f"{where}: dequantizes {x.dtype} weights"
                           + ("" if scale is not None else " with a scale not constant")
                           + "; expected INT8 weights with a constant scale")
    if np.size(scale) == 1 and (zero is None or np.size(zero) == 1):
        quantized[node.output[0]] = (x, float(np.ravel(scale)[0]),
                                     0 if zero is None else int(np.ravel(zero)[0]))
    else:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * x.ndim
        shape[axis] = -1
        zp = 0 if zero is None else np.reshape(zero, shape).astype(np.float64)
        consts[node.output[0]] = (x.astype(np.float64) - zp) * np.reshape(scale, shape)


def _const(name: str, consts: dict, quantized: dict) -> bool:
    return name in consts or name in quantized


def _weights(name: str, consts: dict, quantized: dict, order) -> LayerWeights:
    """The layer's INT8 weights, ``kernel_rows x filters`` after ``order`` (a function
    reshaping the ONNX tensor to that layout)."""
    if name in quantized:
        q, scale, zero = quantized[name]
        return LayerWeights(order(q).astype(np.int8), scale, zero)
    return symmetric_int8(order(np.asarray(consts[name], dtype=np.float64)))


def _conv(node, attrs: dict, consts: dict, quantized: dict, shapes: dict, name: str,
          where: str) -> tuple[Layer, LayerWeights]:
    w_shape = (quantized[node.input[1]][0] if node.input[1] in quantized
               else consts[node.input[1]]).shape
    if len(w_shape) != 4:
        raise NetworkError(f"{where}: a {len(w_shape)}-D kernel; expected a 2-D convolution")
    if attrs.get("group", 1) != 1:
        raise NetworkError(f"{where}: group={attrs['group']}; expected 1 (grouped and "
                           "depthwise convolutions are not supported)")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise NetworkError(f"{where}: dilations {attrs['dilations']}; expected 1")
    strides = attrs.get("strides", [1, 1])
    if strides[0] != strides[1]:
        raise NetworkError(f"{where}: strides {strides}; expected the same stride both ways")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise NetworkError(f"{where}: auto_pad {attrs['auto_pad']}; expected explicit pads")
    pads = attrs.get("pads", [0, 0, 0, 0])
    x = shapes.get(node.input[0])
    if x is None or len(x) != 4 or x[0] != 1:
        raise NetworkError(f"{where}: input shape {x}; expected a known [1, C, H, W]")
    n, c, kh, kw = w_shape
    if c != x[1]:
        raise NetworkError(f"{where}: kernel of {c} channels on a {x[1]}-channel input")
    layer = Layer(name, x[2] + pads[0] + pads[2], x[3] + pads[1] + pads[3], kh, kw, c, n,
                  strides[0])
    return layer, _weights(node.input[1], consts, quantized,
                           lambda w: w.transpose(2, 3, 1, 0).reshape(kh * kw * c, n))


def _dense(node, op: str, attrs: dict, consts: dict, quantized: dict, shapes: dict,
           flat: dict, name: str, where: str) -> tuple[Layer, LayerWeights]:
    b = quantized[node.input[1]][0] if node.input[1] in quantized else consts[node.input[1]]
    if b.ndim != 2:
        raise NetworkError(f"{where}: {b.ndim}-D weights; expected a 2-D matrix")
    if op == "Gemm" and attrs.get("transA", 0):
        raise NetworkError(f"{where}: transA=1; expected the activations untransposed")
    trans_b = op == "Gemm" and attrs.get("transB", 0)
    k, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    alpha = float(attrs.get("alpha", 1.0)) if op == "Gemm" else 1.0
    a = shapes.get(node.input[0])
    if a is None or a[-1] != k:
        raise NetworkError(f"{where}: input shape {a}; expected [..., {k}]")
    m = int(np.prod(a[:-1])) if len(a) > 1 else 1
    chw = flat.get(node.input[0])

    def order(w: np.ndarray) -> np.ndarray:
        w = w.T if trans_b else w
        if chw is not None:   # rows (c, h, w) of a flattened NCHW map -> our (h, w, c)
            c, h, wd = chw
            w = w.reshape(c, h, wd, n).transpose(1, 2, 0, 3).reshape(k, n)
        return w * alpha if alpha != 1.0 and w.dtype.kind == "f" else w

    if alpha != 1.0 and node.input[1] in quantized:
        raise NetworkError(f"{where}: alpha={alpha} on quantized weights; expected 1")
    return Layer(name, m, 1, 1, 1, k, n, 1), _weights(node.input[1], consts, quantized, order)


def _track_flat(node, op: str, shapes: dict, flat: dict) -> None:
    """Remember which tensors are NCHW maps flattened to [1, C*H*W] (the rows of the
    fully connected layer after them are in NCHW order)."""
    if not node.input or not node.output:
        return
    src = node.input[0]
    if op in ("Flatten", "Reshape"):
        x, y = shapes.get(src), shapes.get(node.output[0])
        if x and len(x) == 4 and x[0] == 1 and y and len(y) == 2 and y[1] == x[1] * x[2] * x[3]:
            flat[node.output[0]] = (x[1], x[2], x[3])
    elif op in _ELEMENTWISE and src in flat:
        flat[node.output[0]] = flat[src]
