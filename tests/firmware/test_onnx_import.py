"""ONNX in: the digits CNN exported by the test comes back as the same integer network,
in float form (per-layer symmetric quantization) and in QDQ form (the model's scales);
what the importer cannot map is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from firmware.network import NetworkError  # noqa: E402
from firmware.onnx_import import read_onnx  # noqa: E402
from model.training.cnn import DIGITS_CNN, FloatNetwork, quantize_weights  # noqa: E402


def _onnx_kernels(ws: list[np.ndarray]) -> list[np.ndarray]:
    """Our kernel_rows x filters weights as ONNX lays them out: Conv [N, C, kh, kw]; the
    classifier as a PyTorch Linear, [N, K] over the NCHW-flattened map."""
    (c1, c2, fc) = DIGITS_CNN.layers
    out = [w.reshape(la.filter_h, la.filter_w, la.channels, la.filters).transpose(3, 2, 0, 1)
           for w, la in ((ws[0], c1), (ws[1], c2))]
    side = c2.ofmap_h
    out.append(ws[2].reshape(side, side, c2.filters, fc.filters).transpose(3, 2, 0, 1)
               .reshape(fc.filters, fc.kernel_rows))
    return out


def _export(path: Path, kernels: list[np.ndarray], qdq: bool = False,
            scales: list[float] | None = None, extra=None) -> Path:
    """conv1 -> Relu -> conv2 -> Relu -> Flatten -> fc (Gemm, transB=1), batch 1."""
    inits, nodes = [], []
    names = []
    for i, (lname, k) in enumerate(zip(("conv1", "conv2", "fc"), kernels, strict=True)):
        if qdq:
            inits += [numpy_helper.from_array(k.astype(np.int8), f"{lname}_q"),
                      numpy_helper.from_array(np.array(scales[i], np.float32), f"{lname}_s"),
                      numpy_helper.from_array(np.array(0, np.int8), f"{lname}_z")]
            nodes.append(helper.make_node("DequantizeLinear",
                                          [f"{lname}_q", f"{lname}_s", f"{lname}_z"],
                                          [f"{lname}_w"], name=f"{lname}_dq"))
        else:
            inits.append(numpy_helper.from_array(k.astype(np.float32), f"{lname}_w"))
        names.append(f"{lname}_w")
    nodes += [
        helper.make_node("Conv", ["x", names[0]], ["a1"], name="conv1", kernel_shape=[3, 3]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("Conv", ["r1", names[1]], ["a2"], name="conv2", kernel_shape=[3, 3]),
        helper.make_node("Relu", ["a2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", names[2]], ["y"], name="fc", transB=1),
        *(extra or []),
    ]
    graph = helper.make_graph(
        nodes, "digits", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_the_digits_cnn_comes_back_as_the_same_integer_network(tmp_path: Path) -> None:
    """Float weights quantize per layer, symmetric, exactly as the digits experiment
    deploys them; the layers are DIGITS_CNN's."""
    ws = FloatNetwork(DIGITS_CNN, seed=4).w
    got = read_onnx(_export(tmp_path / "digits.onnx", _onnx_kernels(ws)))
    assert got.network.layers == DIGITS_CNN.layers
    assert got.glue == ("Relu", "Relu", "Flatten")
    for layer, q in zip(DIGITS_CNN.layers, quantize_weights(ws), strict=True):
        lw = got.weights[layer.name]
        assert lw.zero_point == 0 and lw.q.dtype == np.int8
        np.testing.assert_array_equal(lw.q, q)


def test_a_quantized_model_keeps_its_own_scales(tmp_path: Path) -> None:
    """QDQ weights (INT8 initializers through DequantizeLinear) are taken as they are,
    with the model's scales, not requantized."""
    rng = np.random.default_rng(2)
    qs = [rng.integers(-100, 101, (la.kernel_rows, la.filters)) for la in DIGITS_CNN.layers]
    scales = [0.01, 0.02, 0.005]
    got = read_onnx(_export(tmp_path / "q.onnx", _onnx_kernels(qs), qdq=True, scales=scales))
    assert got.network.layers == DIGITS_CNN.layers
    for layer, q, s in zip(DIGITS_CNN.layers, qs, scales, strict=True):
        np.testing.assert_array_equal(got.weights[layer.name].q, q)
        assert got.weights[layer.name].scale == pytest.approx(s)


def test_padding_goes_into_the_ifmap(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", pads=[1, 1, 1, 1],
                            strides=[2, 2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["batch", 2, 9, 9])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "pad.onnx"
    onnx.save(helper.make_model(graph), str(path))
    (layer,) = read_onnx(path).network.layers
    assert (layer.ifmap_h, layer.ifmap_w, layer.stride, layer.ofmap_h) == (11, 11, 2, 5)


def test_what_it_cannot_map_is_named(tmp_path: Path) -> None:
    """A node that is neither a layer nor glue, and a grouped convolution."""
    ws = FloatNetwork(DIGITS_CNN, seed=1).w
    bad = _export(tmp_path / "bad.onnx", _onnx_kernels(ws),
                  extra=[helper.make_node("LpNormalization", ["y"], ["z"], name="norm")])
    with pytest.raises(NetworkError) as exc:
        read_onnx(bad)
    assert str(exc.value).startswith(f"{bad}: node 6 'norm' (LpNormalization): not "
                                     "supported; expected Conv, Gemm or MatMul")
    grouped = tmp_path / "grouped.onnx"
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "g_w")
    node = helper.make_node("Conv", ["x", "g_w"], ["y"], name="grouped", group=2)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 2, 5, 5])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph), str(grouped))
    with pytest.raises(NetworkError, match=r"node 0 'grouped' \(Conv\): group=2; expected 1"):
        read_onnx(grouped)


def test_weights_it_cannot_take_are_named_not_dropped(tmp_path: Path) -> None:
    """UINT8 weights through DequantizeLinear and a Conv whose kernel is an activation
    are errors (before, such a layer would have been counted as glue)."""
    qs = [np.zeros((la.kernel_rows, la.filters), np.int64) for la in DIGITS_CNN.layers]
    path = _export(tmp_path / "u8.onnx", _onnx_kernels(qs), qdq=True, scales=[0.1] * 3)
    model = onnx.load(str(path))
    for t in model.graph.initializer:
        if t.name == "conv1_q":
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.uint8),
                                               "conv1_q"))
        if t.name == "conv1_z":
            t.CopyFrom(numpy_helper.from_array(np.array(0, np.uint8), "conv1_z"))
    onnx.save(model, str(path))
    with pytest.raises(NetworkError, match=r"node 0 'conv1_dq' \(DequantizeLinear\): "
                                           r"dequantizes uint8 weights"):
        read_onnx(path)
    node = helper.make_node("Conv", ["x", "k"], ["y"], name="dynamic")
    graph = helper.make_graph([node], "g", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5]),
        helper.make_tensor_value_info("k", TensorProto.FLOAT, [1, 1, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "dynamic.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(NetworkError, match=r"'dynamic' \(Conv\): its kernel 'k' is not a "
                                           "constant"):
        read_onnx(path)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="no such file"):
        read_onnx(tmp_path / "absent.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a model")
    with pytest.raises(NetworkError, match=r"junk\.onnx: not a readable ONNX model"):
        read_onnx(junk)
