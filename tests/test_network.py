"""Topology reader, built-in networks and weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from firmware import network
from firmware.network import Layer, NetworkError

ROOT = Path(__file__).resolve().parent.parent
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, " \
         "Num Filter, Strides,\n"


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "net.csv"
    p.write_text(header + body)
    return p


def test_reads_scalesim_rows(tmp_path: Path) -> None:
    net = network.read_topology(_write(tmp_path, "conv1, 10, 12, 3, 3, 4, 8, 1,\n"
                                                 "\n"
                                                 "fc, 1, 1, 1, 1, 640, 10, 1\n"))
    conv, fc = net.layers
    assert (conv.ofmap_h, conv.ofmap_w, conv.windows) == (8, 10, 80)
    assert (conv.kernel_rows, conv.weights, conv.macs) == (36, 288, 80 * 288)
    assert (fc.windows, fc.kernel_rows) == (1, 640)
    assert net.weights == 288 + 6400


def test_strided_output_size() -> None:
    layer = Layer("c", 230, 230, 7, 7, 3, 64, 2)   # ResNet conv1 with its padding
    assert (layer.ofmap_h, layer.ofmap_w) == (112, 112)


@pytest.mark.parametrize(("body", "message"), [
    ("conv1, 10, 12, 3, 3, 4, 8\n", ":2: 7 columns; expected 8"),
    ("conv1, 10, x, 3, 3, 4, 8, 1\n", ":2: column 3 (IFMAP Width): expected a positive "
                                       "integer, got 'x'"),
    ("a, 1, 1, 1, 1, 4, 8, 1\nb, 10, 10, 3, 3, 4, 0, 1\n", ":3: column 7 (Num Filter)"),
    ("a, 2, 2, 3, 3, 4, 8, 1\n", ":2: the 3x3 filter does not fit the 2x2 IFMAP"),
    ("a, 1, 1, 1, 1, 4, 8, 1\na, 1, 1, 1, 1, 4, 8, 1\n", ":3: column 1 (Layer name): 'a' "
                                                         "appears twice"),
    (", 1, 1, 1, 1, 4, 8, 1\n", ":2: column 1 (Layer name) is empty"),
    ("", ": no layers after the header"),
])
def test_bad_topologies_name_line_and_column(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(NetworkError) as exc:
        network.read_topology(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_bad_header_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r":1: header is"):
        network.read_topology(_write(tmp_path, "a, 1, 1, 1, 1, 1, 1, 1\n", "name, h, w\n"))
    with pytest.raises(NetworkError, match="cannot read topology"):
        network.read_topology(tmp_path / "absent.csv")
    with pytest.raises(NetworkError, match="unknown network 'alexnet'; built in"):
        network.builtin("alexnet")


@pytest.mark.parametrize(("name", "layers", "weights"), [
    # Weight counts of the published models without biases and batch-norm parameters.
    ("vgg16", 16, 138_344_128),
    ("resnet50", 54, 25_502_912),
    ("bert_base", 73, 12 * (4 * 768**2 + 2 * 768 * 3072) + 768 * 2),
    ("bert_large", 145, 24 * (4 * 1024**2 + 2 * 1024 * 4096) + 1024 * 2),
])
def test_builtin_networks_have_the_published_sizes(name: str, layers: int, weights: int) -> None:
    net = network.builtin(name)
    assert len(net.layers) == layers
    assert net.weights == weights


def test_densenet161_shape() -> None:
    net = network.builtin("densenet161")
    # 4 dense blocks of 6/12/36/24 two-conv layers, 3 transitions, stem and classifier.
    assert len(net.layers) == 2 * (6 + 12 + 36 + 24) + 3 + 2
    assert net.layers[-1].channels == 2208     # the classifier's input features
    assert net.layers[0].ofmap_h == 112


def test_shipped_topologies_are_what_the_script_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_topologies",
                                                  ROOT / "scripts" / "make_topologies.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, build in mod.NETWORKS.items():
        assert (network.TOPOLOGY_DIR / f"{name}.csv").read_text() == mod.render(build()), name


def test_quantize_is_affine_int8() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(0.01, 0.05, (50, 20))
    lw = network.quantize(w)
    assert lw.q.dtype == np.int8 and lw.q.min() >= -128 and lw.q.max() <= 127
    assert np.abs(lw.dequantize() - w).max() <= lw.scale / 2 + 1e-12
    assert -128 <= lw.zero_point <= 127


def test_synthetic_weights_are_seeded_and_bell_shaped() -> None:
    layer = Layer("c", 16, 16, 3, 3, 64, 128, 1)
    a, b = network.synthetic_weights(layer, 1), network.synthetic_weights(layer, 1)
    c = network.synthetic_weights(layer, 2)
    assert np.array_equal(a.q, b.q) and not np.array_equal(a.q, c.q)
    assert a.q.shape == (layer.kernel_rows, layer.filters)
    q = a.q.astype(int) - a.zero_point
    # Concentrated around the zero point, with tails: most codes near it, some far.
    assert np.mean(np.abs(q) < 32) > 0.7
    assert np.mean(np.abs(q) > 64) > 0.001
    # Layers get different zero points (where their histogram peaks).
    zps = {network.synthetic_weights(layer, 1, i).zero_point for i in range(6)}
    assert len(zps) > 1


def test_npz_weights(tmp_path: Path) -> None:
    net = network.read_topology(_write(tmp_path, "c, 4, 4, 3, 3, 2, 5, 1\nfc, 1, 1, 1, 1, 8, "
                                                 "3, 1\n"))
    rng = np.random.default_rng(3)
    good = tmp_path / "w.npz"
    np.savez(good, c=rng.normal(size=(3, 3, 2, 5)),
             fc=rng.integers(-128, 128, (8, 3)).astype(np.int16))
    got = dict((layer.name, w) for layer, w in network.weights(net, path=good))
    assert got["c"].q.shape == (18, 5) and got["fc"].zero_point == 0
    bad_shape = tmp_path / "shape.npz"
    np.savez(bad_shape, c=np.zeros((3, 3, 2, 4)), fc=np.zeros((8, 3)))
    with pytest.raises(NetworkError, match=r"array 'c' has shape \(3, 3, 2, 4\); expected "
                                           r"\(3, 3, 2, 5\) or \(18, 5\)"):
        network.load_weights(bad_shape, net)
    missing = tmp_path / "missing.npz"
    np.savez(missing, c=np.zeros((18, 5)), other=np.zeros(1))
    with pytest.raises(NetworkError, match=r"missing \['fc'\], unknown \['other'\]"):
        network.load_weights(missing, net)
    wide = tmp_path / "wide.npz"
    np.savez(wide, c=np.full((18, 5), 300), fc=np.zeros((8, 3), dtype=np.int8))
    with pytest.raises(NetworkError, match="outside -128..127"):
        network.load_weights(wide, net)
    nan = tmp_path / "nan.npz"
    np.savez(nan, c=np.full((18, 5), np.nan), fc=np.zeros((8, 3)))
    with pytest.raises(NetworkError, match="NaN or inf"):
        network.load_weights(nan, net)
    with pytest.raises(NetworkError, match="cannot read weights"):
        network.load_weights(tmp_path / "none.npz", net)
