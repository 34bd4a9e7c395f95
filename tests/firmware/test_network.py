"""Topology reader, built-in networks and weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware import architectures, config, glue, network
from firmware.network import Layer, NetworkError
from model.reports import aras

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
    with pytest.raises(NetworkError, match=r":1: the first row reads as a layer, but it is "
                                           r"the header \(ScaleSim skips it\)"):
        network.read_topology(_write(tmp_path, "a, 1, 1, 1, 1, 1, 1, 1\n",
                                     "b, 2, 2, 1, 1, 1, 1, 1\n"))
    with pytest.raises(NetworkError, match="empty topology file"):
        network.read_topology(_write(tmp_path, "", ""))
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
    for name, build in architectures.NETWORKS.items():
        assert (network.TOPOLOGY_DIR / f"{name}.csv").read_text() == \
            architectures.render(build()), name
        pools = architectures.GLUE[name]() if name in architectures.GLUE else {}
        sidecar = glue.glue_path(network.TOPOLOGY_DIR / f"{name}.csv")
        assert sidecar.exists() == bool(pools), name
        if pools:
            assert glue.read_glue(sidecar, [layer[0] for layer in build()]) == pools, name


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


def test_scalesim_files_read_as_scalesim_reads_them(tmp_path: Path) -> None:
    """Files of each shape ScaleSim 3.0 reads: a byte-order mark and a header of other
    names (skipped), trailing empty and extra cells, the ninth N:M column, a depthwise
    layer (one per channel) and a GEMM topology (from its header)."""
    conv = tmp_path / "conv.csv"
    conv.write_bytes(b"\xef\xbb\xbf" + (
        b"Layer, H, W, R, S, C, K, Stride, Sparsity, notes,\n"
        b"c1, 10, 12, 3, 3, 4, 8, 1,,,\n"
        b"c2, 8, 10, 3, 3, 8, 8, 2, 2:4,\n"
        b"c3, 3, 4, 3, 3, 8, 8, 1, 1:1, ignored, also\n"
        b"fcDP, 3, 3, 3, 3, 3, 2, 1\n"))
    net = network.read_topology(conv)
    assert net.layers[:3] == (Layer("c1", 10, 12, 3, 3, 4, 8, 1),
                              Layer("c2", 8, 10, 3, 3, 8, 8, 2, (2, 4)),
                              Layer("c3", 3, 4, 3, 3, 8, 8, 1))
    assert net.layers[3:] == tuple(Layer(f"fcDPChannel_{c}", 3, 3, 3, 3, 1, 2, 1)
                                   for c in range(3))
    gemm = _write(tmp_path, "qkv, 128, 2304, 768,\nfc2, 128, 768, 3072, 1:2\n",
                  "Layer, M, N, K,\n")
    fc, fc2 = network.read_topology(gemm).layers
    assert fc == Layer("qkv", 128, 1, 1, 1, 768, 2304, 1)
    assert (fc.windows, fc.kernel_rows, fc.filters) == (128, 768, 2304)
    assert fc2.sparsity == (1, 2)


@pytest.mark.parametrize(("header", "body", "message"), [
    (HEADER, "a, 4, 4, 1, 1, 2, 2, 1, 3:2\n", ":2: column 9 (sparsity): expected N:M with "
                                            "1 <= N <= M, got '3:2'"),
    (HEADER, "a, 4, 4, 1, 1, 2, 2, 1, half\n", ":2: column 9 (sparsity): expected N:M"),
    ("Layer, M, N, K\n", "a, 4, 4\n", ":2: 3 columns; expected 4 (Layer, M, N, K), then an "
                                       "optional N:M sparsity"),
    ("Layer, M, N, K\n", "a, 4, 0, 2\n", ":2: column 3 (N): expected a positive integer, "
                                          "got '0'"),
    ("Layer, M, N, K\n", "a, 4, 4, 4, 1:0\n", ":2: column 5 (sparsity)"),
    (HEADER, "aDP, 4, 4, 5, 1, 2, 2, 1\n", ":2: the 5x1 filter does not fit the 4x4 IFMAP"),
])
def test_what_scalesim_files_may_not_hold_is_named(tmp_path: Path, header: str, body: str,
                                                   message: str) -> None:
    path = _write(tmp_path, body, header)
    with pytest.raises(NetworkError) as exc:
        network.read_topology(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_topology_utf8_bom_reads_and_other_bytes_name_the_line(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + "c, 4, 4, 3, 3, 2, 5, 1\n").encode())
    assert [layer.name for layer in network.read_topology(bom).layers] == ["c"]
    latin = tmp_path / "latin1.csv"
    latin.write_bytes((HEADER + "c, 4, 4, 3, 3, 2, 5, 1\n").encode() + b"caf\xe9, 1, 1, 1, 1, "
                      b"1, 1, 1\n")
    with pytest.raises(NetworkError) as exc:
        network.read_topology(latin)
    assert str(exc.value) == (f"{latin}:3: byte 0xe9 at offset {len(HEADER) + 26} is not "
                              "UTF-8; expected a UTF-8 (or ASCII) text topology")


def test_layer_too_large_is_refused_with_its_size_before_allocating(tmp_path: Path) -> None:
    # 10^12 weights: 1000 x 1000 x 1000 x 1000 would be a terabyte of INT8.
    path = _write(tmp_path, "huge, 1000, 1000, 1000, 1000, 1000, 1000, 1\n")
    with pytest.raises(NetworkError) as exc:
        network.read_topology(path)
    assert str(exc.value).startswith(f"{path}:2: layer 'huge' needs 1000000000000 bytes of "
                                     "INT8 weights")
    assert f"expected at most {network.MAX_LAYER_BYTES} bytes" in str(exc.value)
    wide = _write(tmp_path, "wide, 100000, 100000, 1, 1, 200, 1, 1\n")
    with pytest.raises(NetworkError, match=r":2: layer 'wide' needs 2000000000000 bytes of "
                                           "unrolled INT8 input windows"):
        network.read_topology(wide)
    # A layer made in code is refused where its weights would be drawn or loaded.
    huge = Layer("huge", 1, 1, 1, 1, 1_000_000, 1_000_000, 1)
    with pytest.raises(NetworkError, match="synthetic weights: layer 'huge' needs "
                                           "1000000000000 bytes"):
        network.synthetic_weights(huge, 0)
    net = network.Network("n", (huge,), "in code")
    with pytest.raises(NetworkError, match="in code: layer 'huge' needs"):
        network.load_weights(tmp_path / "never-opened.npz", net)


def _net(tmp_path: Path) -> network.Network:
    return network.read_topology(_write(tmp_path, "c, 4, 4, 3, 3, 2, 5, 1\n"))


def _save_npy(path: Path) -> None:
    with open(path, "wb") as fh:   # np.save would add a .npy suffix to a path
        np.save(fh, np.zeros((18, 5)))


def _zip_bytes(tmp_path: Path) -> bytes:
    good = tmp_path / "good.npz"
    np.savez(good, c=np.zeros((18, 5)))
    return good.read_bytes()


@pytest.mark.parametrize(("make", "message"), [
    (lambda p, t: _save_npy(p),
     "is a .npy file (one array); expected a .npz archive with one array per layer name"),
    (lambda p, t: p.write_bytes(bytes(range(256)) * 4),
     "not a .npz archive (starts with b'\\x00\\x01\\x02\\x03\\x04\\x05'); expected a zip"),
    (lambda p, t: p.write_bytes(b""), "not a .npz archive (starts with b'')"),
    (lambda p, t: p.write_bytes(_zip_bytes(t)[:60]), "corrupt .npz archive (File is not a zip "
                                                     "file); expected a zip of .npy arrays"),
    (lambda p, t: p.write_bytes(_zip_bytes(t).replace(b"\x93NUMPY", b"\x93NUMPZ")),
     "array 'c' is corrupt ("),
    (lambda p, t: np.savez(p, c=np.array([object()] * 90, dtype=object).reshape(18, 5)),
     "array 'c' holds Python objects (dtype object); expected a float or integer array"),
    (lambda p, t: np.savez(p, c=np.zeros((18, 5), dtype=bool)),
     "array 'c' has dtype bool; expected float or integer"),
    (lambda p, t: np.savez(p, c=np.zeros((18, 5), dtype=complex)),
     "array 'c' has dtype complex128; expected float or integer"),
    (lambda p, t: np.savez(p, c=np.full((18, 5), "w")), "array 'c' has dtype <U1; expected"),
    (lambda p, t: np.savez(p, c=np.zeros(90)), "array 'c' has shape (90,); expected "
                                               "(3, 3, 2, 5) or (18, 5)"),
])
def test_bad_weight_files_name_the_file_and_what_was_expected(tmp_path: Path, make,
                                                              message: str) -> None:
    path = tmp_path / "w.npz"
    make(path, tmp_path)
    with pytest.raises(NetworkError) as exc:
        network.load_weights(path, _net(tmp_path))
    text = str(exc.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_object_arrays_are_never_unpickled(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, c=np.array([object()] * 90, dtype=object).reshape(18, 5))
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("loaded"))
    with pytest.raises(NetworkError, match="holds Python objects"):
        network.load_weights(path, _net(tmp_path))


def test_bad_report_inputs_name_the_file(tmp_path: Path) -> None:
    """The report refuses undecodable or oversized topologies and weights that do not
    fit, with an error that starts with the file (the CLI prints it as one line)."""
    good = _write(tmp_path, "c, 4, 4, 3, 3, 2, 5, 1\n")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(HEADER.encode() + b"caf\xe9, 4, 4, 3, 3, 2, 5, 1\n")
    huge = tmp_path / "huge.csv"
    huge.write_text(HEADER + "huge, 1000, 1000, 1000, 1000, 1000, 1000, 1\n")
    npy = tmp_path / "w.npz"
    _save_npy(npy)
    cfg = config.load("small")
    for net, weights, bad in ((latin, None, latin), (huge, None, huge), (good, npy, npy)):
        with pytest.raises(ValueError) as exc:
            aras.rows(cfg, [str(net)], ["naive"], 1e12, weights=weights and str(weights))
        assert str(exc.value).startswith(str(bad)) and "\n" not in str(exc.value)
