"""Networks: layer topologies in the ScaleSim CSV convention, and their INT8 weights.

A topology file has a header row and one row per layer with the columns ``Layer name,
IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides``
(a trailing comma is allowed, as in ScaleSim's own files), or ScaleSim's GEMM columns
``Layer, M, N, K`` (:func:`read_topology` has the rules). IFMAP sizes include any
padding, so a layer's output is ``(ifmap - filter) // stride + 1`` per side. A fully
connected layer is a 1x1 filter over a ``tokens x 1`` map (``1 x 1`` for a CNN
classifier): every token is one window. Layers without stationary weights (attention
score and context products, pooling) are not listed; they do not use crossbars.

Weights are per layer either given (a numpy ``.npz`` with one array per layer name) or
seeded synthetic ones. Both end as affine-quantized INT8: ``w ~ scale * (q -
zero_point)``, ``q`` in -128..127, as the chip stores them.
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.glue import Glue, Pool, glue_path, map_layer, pool_map, read_glue
from firmware.isa import VecFunc
from firmware.semantics import vec_lanes
from firmware.textfile import read_utf8

TOPOLOGY_DIR = Path(__file__).with_name("topologies")
COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
           "Channels", "Num Filter", "Strides")
BUILTIN = {"vgg16": "VGG-16", "resnet50": "ResNet-50", "densenet161": "DenseNet-161",
           "bert_base": "BERT-Base", "bert_large": "BERT-Large"}


class NetworkError(ValueError):
    """A topology or weight file that cannot be used; the message names file and place."""


@dataclass(frozen=True)
class Layer:
    """One weight layer: a convolution (a fully connected layer is a 1x1 one)."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    filters: int
    stride: int
    #: ``(N, M)``: N of every M weights nonzero, as a topology's ninth column gives it
    #: (read and reported; every figure here treats the layer as dense).
    sparsity: tuple[int, int] = (1, 1)

    @property
    def ofmap_h(self) -> int:
        return (self.ifmap_h - self.filter_h) // self.stride + 1

    @property
    def ofmap_w(self) -> int:
        return (self.ifmap_w - self.filter_w) // self.stride + 1

    @property
    def windows(self) -> int:
        """Activation windows (output positions): one VMM step each."""
        return self.ofmap_h * self.ofmap_w

    @property
    def kernel_rows(self) -> int:
        """Length of one unrolled kernel: the crossbar rows it needs."""
        return self.filter_h * self.filter_w * self.channels

    @property
    def weights(self) -> int:
        return self.kernel_rows * self.filters

    @property
    def ifmap_bytes(self) -> int:
        return self.ifmap_h * self.ifmap_w * self.channels

    @property
    def ofmap_bytes(self) -> int:
        """INT8 output activations."""
        return self.windows * self.filters

    @property
    def macs(self) -> int:
        return self.windows * self.weights


@dataclass(frozen=True)
class Network:
    """Crossbar layers in order; ``glue[i]`` (when given) is what happens around layer
    ``i`` (:mod:`firmware.glue`): its output pooled or added to an earlier map, its input
    read from an earlier map."""

    name: str
    layers: tuple[Layer, ...]
    source: str
    glue: tuple[Glue | None, ...] = ()

    def glue_of(self, i: int) -> Glue:
        g = self.glue[i] if i < len(self.glue) else None
        return g if g is not None else Glue()

    def pool(self, i: int) -> Pool | None:
        """The pooling after layer ``i``, if any."""
        return self.glue_of(i).pool

    def add(self, i: int) -> str | None:
        """The map added to layer ``i``'s output, if any."""
        return self.glue_of(i).add

    def input(self, i: int) -> str | None:
        """The earlier map layer ``i`` reads instead of the previous layer's output."""
        return self.glue_of(i).input

    def index(self, name: str) -> int:
        return [layer.name for layer in self.layers].index(name)

    def operands(self) -> set[str]:
        """Maps some layer adds to its output."""
        return {g.add for g in self.glue if g is not None and g.add}

    def kept(self) -> set[str]:
        """Maps read by a layer other than the next: added, or read as an input."""
        return self.operands() | {g.input for g in self.glue if g is not None and g.input}

    def relu(self, i: int) -> bool:
        """Does layer ``i``'s output go through ReLU when requantized: not when it is
        added to another map (then ReLU follows the sum)."""
        return not self.add(i) and self.layers[i].name not in self.operands()

    def map_shape(self, name: str) -> tuple[int, int, int]:
        """Height, width and channels of a map: ``L:in`` as layer ``L`` reads it, ``L``
        as layer ``L`` computes it."""
        layer_name, is_in = map_layer(name)
        layer = self.layers[self.index(layer_name)]
        if is_in:
            return layer.ifmap_h, layer.ifmap_w, layer.channels
        return layer.ofmap_h, layer.ofmap_w, layer.filters

    def concat(self, i: int) -> str | None:
        """The earlier map layer ``i``'s output is appended to (channels), if any."""
        return self.glue_of(i).concat

    def out_channels(self, i: int) -> int:
        """Channels of the map layer ``i`` passes on: its outputs after the map it
        concatenates them to."""
        c = self.concat(i)
        return self.layers[i].filters + (self.map_shape(c)[2] if c else 0)

    def offchip(self, i: int) -> str | None:
        """What makes layer ``i``'s input off the chip, if anything does."""
        return self.glue_of(i).offchip

    def chains(self, i: int) -> bool:
        """Does layer ``i + 1`` read layer ``i``'s output (not an earlier map, nor one
        made off the chip)?"""
        return i + 1 < len(self.layers) and self.input(i + 1) is None and \
            self.offchip(i + 1) is None

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)


#: The columns of a GEMM topology (ScaleSim's ``-i gemm`` files): ``M`` windows of a
#: ``K``-long input vector through ``N`` outputs.
GEMM_COLUMNS = ("Layer", "M", "N", "K")


def read_topology(path: str | Path, name: str | None = None) -> Network:
    """Read a topology CSV as ScaleSim 3.0 reads it; errors name the line and column.

    The first row is a header and is skipped whatever its names (ScaleSim's rule), except
    that a header ``Layer, M, N, K`` makes the file a GEMM topology, each row a fully
    connected layer of ``M`` windows, ``K`` inputs and ``N`` outputs. A first row that
    reads as a layer is refused (ScaleSim would drop that layer silently). Convolution
    rows have the eight :data:`COLUMNS`, GEMM rows the four :data:`GEMM_COLUMNS`; then an
    optional ``N:M`` sparsity column (kept in :attr:`Layer.sparsity`; the chip and the
    TPU model store every weight, so it changes no figure); cells after it and empty
    trailing cells are ignored. A convolution whose name contains ``DP`` is depthwise:
    one layer per channel, named ``<name>Channel_<i>``, each of one channel (ScaleSim's
    expansion). Unlike ScaleSim, a row's last cell is read whether or not it ends in a
    comma."""
    path = Path(path)
    rows = list(csv.reader(read_utf8(path, "topology", NetworkError).splitlines()))
    if not rows:
        raise NetworkError(f"{path}: empty topology file; expected a header row "
                           f"({', '.join(COLUMNS)}, or {', '.join(GEMM_COLUMNS)})")
    header = [h.strip() for h in rows[0]]
    gemm = [h.lower() for h in header[1:4]] == ["m", "n", "k"]
    columns = GEMM_COLUMNS if gemm else COLUMNS
    if not gemm and _layer_cells(header) is not None:
        raise NetworkError(f"{path}:1: the first row reads as a layer, but it is the "
                           f"header (ScaleSim skips it); expected a header row such as "
                           f"{', '.join(COLUMNS)}")
    layers: list[Layer] = []
    seen: set[str] = set()
    for lineno, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        where = f"{path}:{lineno}"
        if len(cells) < len(columns):
            raise NetworkError(f"{where}: {len(cells)} columns; expected {len(columns)} "
                               f"({', '.join(columns)}), then an optional N:M sparsity")
        values = []
        for col, (title, cell) in enumerate(zip(columns[1:], cells[1:len(columns)],
                                                strict=True), start=2):
            v = _positive(cell)
            if v is None:
                raise NetworkError(f"{where}: column {col} ({title}): expected a "
                                   f"positive integer, got '{cell}'")
            values.append(v)
        sparsity = _sparsity(cells[len(columns)] if len(cells) > len(columns) else "",
                             f"{where}: column {len(columns) + 1} (sparsity)")
        if gemm:
            m, n, k = values
            made = [Layer(cells[0], m, 1, 1, 1, k, n, 1, sparsity)]
        else:
            made = [Layer(cells[0], *values, sparsity)]
            if "DP" in cells[0]:
                made = [Layer(f"{cells[0]}Channel_{c}", *values[:4], 1, *values[5:],
                              sparsity) for c in range(values[4])]
        for layer in made:
            _check_layer(layer, where, seen)
            seen.add(layer.name)
            layers.append(layer)
    if not layers:
        raise NetworkError(f"{path}: no layers after the header")
    glue: tuple[Glue | None, ...] = ()
    if glue_path(path).exists():
        named = read_glue(glue_path(path), [layer.name for layer in layers])
        glue = tuple(named.get(layer.name) for layer in layers)
    net = Network(name or path.stem, tuple(layers), str(path), glue)
    check_glue(net, str(glue_path(path)))
    return net


def _positive(cell: str) -> int | None:
    """``cell`` as a positive integer, or None."""
    try:
        v = int(cell)
    except ValueError:
        return None
    return v if v >= 1 else None


def _layer_cells(cells: list[str]) -> list[int] | None:
    """The seven sizes of a convolution row, if ``cells`` reads as one."""
    sizes = [_positive(c) for c in cells[1:len(COLUMNS)]]
    if len(sizes) < len(COLUMNS) - 1 or None in sizes:
        return None
    return sizes


def _sparsity(cell: str, where: str) -> tuple[int, int]:
    """An ``N:M`` sparsity cell (``N`` of every ``M`` weights nonzero; empty: dense)."""
    if not cell:
        return (1, 1)
    parts = cell.split(":")
    nm = [_positive(p.strip()) for p in parts]
    if len(nm) != 2 or None in nm or nm[0] > nm[1]:
        raise NetworkError(f"{where}: expected N:M with 1 <= N <= M, got '{cell}'")
    return (nm[0], nm[1])


def _check_layer(layer: Layer, where: str, seen: set[str]) -> None:
    if not layer.name:
        raise NetworkError(f"{where}: column 1 (Layer name) is empty")
    if layer.name in seen:
        raise NetworkError(f"{where}: column 1 (Layer name): '{layer.name}' appears twice")
    if layer.filter_h > layer.ifmap_h or layer.filter_w > layer.ifmap_w:
        raise NetworkError(f"{where}: the {layer.filter_h}x{layer.filter_w} filter does "
                           f"not fit the {layer.ifmap_h}x{layer.ifmap_w} IFMAP (columns 2-5)")
    check_layer_size(layer, where)


def check_glue(net: Network, where: str) -> None:
    """Refuse glue whose maps do not fit the layers around it, naming ``where`` and the
    layer: a pooled or concatenated map must feed the next layer, an added map have the
    layer's output shape, an input map the layer's input shape; a map named for later
    must have one name (not a layer's input that is itself an earlier map or a
    concatenation) and, when it is a layer's output, be that layer's plain output read
    by no one else (not pooled, added to, concatenated, nor the next layer's input:
    name that ``next:in`` instead)."""
    layers = net.layers
    made = {f"{layers[j + 1].name}:in" for j in range(len(layers) - 1) if net.concat(j)}
    for i, layer in enumerate(layers):
        at = f"{where}: [{layer.name}]"
        if (net.pool(i) is not None or net.concat(i)) and not net.chains(i):
            raise NetworkError(f"{at}: its pooled or concatenated map must feed the next "
                               "layer, which reads an earlier map or one made off the chip")
        if (net.pool(i) is not None or net.concat(i)) and net.chains(i):
            try:
                feeds(layer, layers[i + 1], net.pool(i), net.out_channels(i) - layer.filters)
            except NetworkError as e:
                raise NetworkError(f"{at}: {e}") from e
        if (c := net.concat(i)) is not None:
            if not map_layer(c)[1]:
                raise NetworkError(f"{at}: concat = '{c}' names a layer's output; expected "
                                   "a layer's input map 'L:in' (the block so far)")
            if net.map_shape(c)[:2] != (layer.ofmap_h, layer.ofmap_w):
                h, w, _ = net.map_shape(c)
                raise NetworkError(f"{at}: concat = '{c}' is a {h}x{w} map; expected the "
                                   f"layer's {layer.ofmap_h}x{layer.ofmap_w} outputs")
            for m in (layers[net.index(map_layer(c)[0])], layers[i + 1]):
                if not m.filter_h == m.filter_w == m.stride == 1:
                    raise NetworkError(f"{at}: concat = '{c}': layer '{m.name}' reads the "
                                       "concatenation in place, a block position apart; "
                                       "it must be a 1x1 stride-1 layer")
        for key, name in (("add", net.add(i)), ("input", net.input(i)),
                          ("concat", net.concat(i))):
            if name is None:
                continue
            src, is_in = map_layer(name)
            j = net.index(src)
            if is_in and net.input(j):
                raise NetworkError(f"{at}: {key} = '{name}' is the map '{net.input(j)}' "
                                   f"(layer '{src}' reads it); name that")
            if is_in and name in made and key != "concat":
                raise NetworkError(f"{at}: {key} = '{name}' is a concatenation, read in "
                                   "place a block position apart; add or read its layers' "
                                   "maps instead")
            if not is_in and (net.pool(j) or net.add(j) or net.concat(j) or net.chains(j)):
                raise NetworkError(f"{at}: {key} = '{name}': that layer's output is pooled, "
                                   "added to, concatenated or read by the next layer; name "
                                   "a plain output read by no other layer, or the next "
                                   f"layer's input '{layers[j + 1].name}:in'")
        for key, name, shape in (
                ("add", net.add(i), (layer.ofmap_h, layer.ofmap_w, layer.filters)),
                ("input", net.input(i), (layer.ifmap_h, layer.ifmap_w, layer.channels))):
            if name is None:
                continue
            if net.map_shape(name) != shape:
                h, w, c = net.map_shape(name)
                raise NetworkError(f"{at}: {key} = '{name}' is a {h}x{w}x{c} map; "
                                   f"expected {shape[0]}x{shape[1]}x{shape[2]}")


#: Largest array one layer may need, in bytes: its INT8 weights (a byte each) or its
#: unrolled INT8 input windows (windows x kernel rows). VGG-16's largest layer, fc6, has
#: 98 MiB of weights; synthetic weights take three bytes a weight while they are drawn.
MAX_LAYER_BYTES = 1 << 30


def check_layer_size(layer: Layer, where: str) -> None:
    """Refuse a layer whose arrays would be too large to allocate, before anything is."""
    for what, size, columns in (
            ("INT8 weights (Filter Height x Filter Width x Channels x Num Filter)",
             layer.weights, "4-7"),
            ("unrolled INT8 input windows (output positions x Filter Height x Filter Width "
             "x Channels)", layer.windows * layer.kernel_rows, "2-6 and 8")):
        if size > MAX_LAYER_BYTES:
            raise NetworkError(f"{where}: layer '{layer.name}' needs {size} bytes of {what}; "
                               f"expected at most {MAX_LAYER_BYTES} bytes "
                               f"({MAX_LAYER_BYTES >> 20} MiB, columns {columns})")


def builtin(name: str) -> Network:
    """One of the shipped topologies (:data:`BUILTIN`), by file stem."""
    if name not in BUILTIN:
        raise NetworkError(f"unknown network '{name}'; built in: {', '.join(BUILTIN)}")
    return read_topology(TOPOLOGY_DIR / f"{name}.csv", name)


def load(name_or_path: str) -> Network:
    """A built-in network by name, or a topology file by path."""
    if name_or_path in BUILTIN:
        return builtin(name_or_path)
    return read_topology(name_or_path)


# ---- weights -------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerWeights:
    """INT8 weights of one layer, ``kernel_rows x filters`` (row order: filter row,
    filter column, channel), with the affine quantization that produced them."""

    q: np.ndarray
    scale: float
    zero_point: int

    def dequantize(self) -> np.ndarray:
        return self.scale * (self.q.astype(np.float64) - self.zero_point)


def quantize(w: np.ndarray) -> LayerWeights:
    """Affine (asymmetric) INT8 quantization over the layer's range, as deployed
    networks use: the zero point, and so the histogram's peak, differ from layer to
    layer (ARAS Fig. 11)."""
    w = np.asarray(w, dtype=np.float64)
    lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    scale = (hi - lo) / 255 if hi > lo else 1.0
    zero_point = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    q = np.clip(np.round(w / scale) + zero_point, -128, 127).astype(np.int8)
    return LayerWeights(q, scale, zero_point)


#: Weights drawn directly for a synthetic layer; larger layers are sampled from the
#: quantized distribution of this many draws (same shape, a fraction of the time).
SYNTHETIC_REFERENCE = 1 << 16
#: Resolution of the inverse-CDF table larger layers are drawn through (16-bit indices).
_TABLE_BITS = 16


def synthetic_weights(layer: Layer, seed: int, index: int = 0) -> LayerWeights:
    """Seeded synthetic weights with a trained network's shape of distribution:
    bell-shaped (Laplacian-like tails from a Gaussian scale mixture), He-scaled spread,
    a small per-layer mean and skew, then quantized per layer.

    A layer of more than :data:`SYNTHETIC_REFERENCE` weights is quantized over the range
    of that many reference draws (calibration on a subset, as deployed quantizers do) and
    its weights are drawn from the reference's INT8 histogram by inverse-CDF lookup on
    16-bit random indices (codes rarer than 2^-16 are not drawn), which keeps whole
    networks (VGG-16: 138 M weights) to about a second."""
    check_layer_size(layer, "synthetic weights")
    rng = np.random.default_rng([seed, index, 0xA5A5])
    sigma = np.sqrt(2.0 / layer.kernel_rows)
    mean = rng.normal(0.0, 0.2) * sigma
    n = layer.weights
    m = min(n, SYNTHETIC_REFERENCE)
    # A per-weight spread drawn from a gamma distribution gives heavier-than-Gaussian
    # tails, as trained weights have; a skew term makes layers differ in shape.
    spread = rng.gamma(4.0, 0.25, size=m).astype(np.float32)
    w = rng.standard_normal(m, dtype=np.float32) * spread * np.float32(sigma)
    w += np.float32(mean + rng.normal(0.0, 0.1) * sigma) * (w > 0)
    if m == n:
        return quantize(w.reshape(layer.kernel_rows, layer.filters))
    ref = quantize(w)
    counts = np.bincount(ref.q.astype(np.int64) + 128, minlength=256)
    # Inverse CDF: table entry u holds the INT8 code whose cumulative share of the
    # reference first exceeds u / 2^16.
    size = 1 << _TABLE_BITS
    edges = np.cumsum(counts) * (size / m)
    table = (np.searchsorted(edges, np.arange(size), side="right") - 128).astype(np.int8)
    # Raw 64-bit draws of a fast generator seeded from this layer's, cut into four
    # 16-bit indices (15x faster than integers() on the layer's own generator).
    fast = np.random.SFC64(int(rng.integers(1 << 62)))
    raw = fast.random_raw(-(-n // 4)).view(np.uint16)[:n]
    q = table[raw].reshape(layer.kernel_rows, layer.filters)
    return LayerWeights(q, ref.scale, ref.zero_point)


#: How a zip archive (``numpy.savez``) and a single ``.npy`` array start.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
#: What reading a damaged archive member can raise.
_CORRUPT = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    """Open a weights archive without pickle; any file that is not one is a NetworkError."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise NetworkError(f"{path}: cannot read weights: {exc.strerror}") from None
    if head.startswith(_NPY_MAGIC):
        raise NetworkError(f"{path}: is a .npy file (one array); expected a .npz archive "
                           "with one array per layer name (numpy.savez)")
    if not head.startswith(_ZIP_MAGIC):
        raise NetworkError(f"{path}: not a .npz archive (starts with {head!r}); expected a "
                           "zip of .npy arrays, one per layer name (numpy.savez)")
    try:
        return np.load(path, allow_pickle=False)
    except _CORRUPT as exc:
        raise NetworkError(f"{path}: corrupt .npz archive ({exc}); expected a zip of .npy "
                           "arrays, one per layer name (numpy.savez)") from None


def _read_array(archive: np.lib.npyio.NpzFile, path: Path, layer: Layer) -> np.ndarray:
    """Layer ``layer``'s array, its dtype and shape checked from the .npy header first (so
    an object array is never unpickled and a wrong shape never allocated)."""
    where = f"{path}: array '{layer.name}'"
    shapes = [(layer.filter_h, layer.filter_w, layer.channels, layer.filters),
              (layer.kernel_rows, layer.filters)]
    member = layer.name + ".npy"
    if member not in archive.zip.namelist():
        raise NetworkError(f"{where} is stored as '{layer.name}', not as a .npy array; "
                           "expected an archive written by numpy.savez")
    try:
        with archive.zip.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            if version not in _NPY_HEADERS:
                raise ValueError(f".npy format version {version} is not supported")
            shape, _, dtype = _NPY_HEADERS[version](fh)
        if dtype.hasobject:
            raise NetworkError(f"{where} holds Python objects (dtype {dtype}); expected a "
                               "float or integer array (object arrays need pickle, which "
                               "is not loaded)")
        if dtype.kind not in "fiu":
            raise NetworkError(f"{where} has dtype {dtype}; expected float or integer")
        if shape not in shapes:
            raise NetworkError(f"{where} has shape {shape}; expected {shapes[0]} or "
                               f"{shapes[1]}")
        return archive[layer.name]
    except NetworkError:
        raise
    except _CORRUPT as exc:
        raise NetworkError(f"{where} is corrupt ({exc}); expected a .npy array written "
                           "by numpy.savez") from None


def load_weights(path: str | Path, network: Network) -> dict[str, LayerWeights]:
    """Weights from a ``.npz`` with one array per layer name: ``filter_h x filter_w x
    channels x filters`` or ``kernel_rows x filters``; float arrays are quantized,
    integer arrays must already be INT8 (-128..127, zero point 0, scale 1)."""
    path = Path(path)
    for layer in network.layers:
        check_layer_size(layer, network.source)
    archive = _open_npz(path)
    out = {}
    with archive:
        missing = [layer.name for layer in network.layers if layer.name not in archive.files]
        extra = sorted(set(archive.files) - {layer.name for layer in network.layers})
        if missing or extra:
            raise NetworkError(f"{path}: arrays do not match the layers of {network.name} "
                               f"({network.source}): missing {missing}, unknown {extra}")
        for layer in network.layers:
            arr = _read_array(archive, path, layer).reshape(layer.kernel_rows, layer.filters)
            if np.issubdtype(arr.dtype, np.floating):
                if not np.isfinite(arr).all():
                    raise NetworkError(f"{path}: array '{layer.name}' has NaN or inf values")
                out[layer.name] = quantize(arr)
            else:
                if arr.size and (arr.min() < -128 or arr.max() > 127):
                    raise NetworkError(f"{path}: array '{layer.name}' holds integers outside "
                                       "-128..127 (INT8 expected)")
                out[layer.name] = LayerWeights(arr.astype(np.int8), 1.0, 0)
    return out


def weights(network: Network, seed: int = 0, path: str | Path | None = None
            ) -> Iterator[tuple[Layer, LayerWeights]]:
    """Each layer with its weights: from ``path`` if given, else synthetic (generated
    lazily, one layer at a time, so whole networks fit in memory)."""
    given = load_weights(path, network) if path is not None else None
    for i, layer in enumerate(network.layers):
        yield layer, given[layer.name] if given else synthetic_weights(layer, seed, i)


# ---- the integer network the chip computes ---------------------------------------------


def out_map(prev: Layer, pool: Pool | None = None) -> tuple[int, int]:
    """Height and width of the map ``prev`` passes on: its output, pooled by ``pool``."""
    if pool is None:
        return prev.ofmap_h, prev.ofmap_w
    return pool.out_size(prev.ofmap_h), pool.out_size(prev.ofmap_w)


def flattens(prev: Layer, nxt: Layer, pool: Pool | None = None) -> bool:
    """Is ``nxt`` a fully connected layer taking ``prev``'s whole map (HWC order, after
    ``pool``)?"""
    h, w = out_map(prev, pool)
    return nxt.ifmap_h == 1 and nxt.ifmap_w == 1 and nxt.filter_h == 1 and \
        nxt.channels == h * w * prev.filters


def feeds(prev: Layer, nxt: Layer, pool: Pool | None = None, before: int = 0) -> int:
    """Zero padding (per side) with which ``prev``'s output map (after ``pool``, after
    ``before`` channels it is concatenated to) is ``nxt``'s input map (0 also when
    ``nxt`` takes it flattened, see :func:`flattens`)."""
    if flattens(prev, nxt, pool) and not before:
        return 0
    h, w = out_map(prev, pool)
    pad, rem = divmod(nxt.ifmap_h - h, 2)
    if nxt.channels == before + prev.filters and rem == 0 and pad >= 0 and \
            nxt.ifmap_w - w == 2 * pad:
        return pad
    pooled = " after its pooling" if pool else " after its concatenation" if before else ""
    raise NetworkError(f"layer '{prev.name}' makes a {h}x{w}x{before + prev.filters} "
                       f"map{pooled} "
                       f"that does not feed layer '{nxt.name}' ({nxt.ifmap_h}x"
                       f"{nxt.ifmap_w}x{nxt.channels}; only zero padding, pooling or "
                       "flattening are supported between layers)")


def im2col(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Windows x kernel_rows activations of an HWC map (row order of the weights)."""
    s, fh, fw = layer.stride, layer.filter_h, layer.filter_w
    rows = [x[oy * s: oy * s + fh, ox * s: ox * s + fw, :].reshape(-1)
            for oy in range(layer.ofmap_h) for ox in range(layer.ofmap_w)]
    return np.stack(rows)


def requant(acc: np.ndarray, shift: int) -> np.ndarray:
    """The SFU's REQUANT: rounding arithmetic shift, clipped to INT8."""
    a = np.asarray(acc, dtype=np.int64)
    if shift:
        a = (a + (1 << (shift - 1))) >> shift
    return np.clip(a, -128, 127)


def convolve(layer: Layer, q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """int32 outputs (windows x filters) of ``layer`` on its INT8 input map ``x``."""
    cur = np.asarray(x, dtype=np.int64).reshape(layer.ifmap_h, layer.ifmap_w, layer.channels)
    return im2col(cur, layer) @ np.asarray(q, dtype=np.int64)


def activate(network: Network, i: int, acc: np.ndarray, shift: int,
             maps: dict[str, np.ndarray]) -> np.ndarray | None:
    """Layer ``i``'s int32 outputs through REQUANT (after ReLU unless the output is
    added), then its glue: plus the added map from ``maps``, clipped to INT8, through
    ReLU; or pooled. The result is kept in ``maps`` under the layer's name; returned
    zero-padded into the next layer's input map (None when the next layer reads an
    earlier map)."""
    layer, pool, add = network.layers[i], network.pool(i), network.add(i)
    v = np.maximum(acc, 0) if network.relu(i) else acc
    out = requant(v, shift).reshape(layer.ofmap_h, layer.ofmap_w, layer.filters)
    if add is not None:
        out = vec_lanes(VecFunc.ADD8_RELU, out, maps[add].reshape(out.shape))
    if pool is not None:
        out = pool_map(out, pool)
    if (cat := network.concat(i)) is not None:
        out = np.concatenate([maps[cat].reshape(*out.shape[:2], -1), out], axis=2)
    maps[layer.name] = out
    if not network.chains(i):
        return None
    pad = feeds(layer, network.layers[i + 1], pool, out.shape[2] - layer.filters)
    return np.pad(out, ((pad, pad), (pad, pad), (0, 0)))


def _layer_input(network: Network, i: int, cur: np.ndarray | None,
                 maps: dict[str, np.ndarray]) -> np.ndarray:
    """Layer ``i``'s input map: the earlier map it names, or ``cur``; kept in ``maps``."""
    if network.offchip(i):
        raise NetworkError(f"layer '{network.layers[i].name}': its input is made off the "
                           f"chip ({network.offchip(i)}); the integer network cannot "
                           "compute it")
    name = network.input(i)
    x = maps[name] if name is not None else cur
    maps[f"{network.layers[i].name}:in"] = x
    return x


def forward(network: Network, qs: list[np.ndarray], x: np.ndarray, shifts: list[int]
            ) -> tuple[list[np.ndarray], np.ndarray]:
    """The integer network as the chip runs it: each layer an int32 convolution of INT8
    weights ``qs`` (zero points are not applied), then ReLU and REQUANT by ``shifts``
    except after the last layer. Returns the INT8 input maps of every layer and the last
    layer's int32 outputs (windows x filters)."""
    ins, named = [], {}
    cur: np.ndarray | None = np.asarray(x, dtype=np.int64)
    last = len(network.layers) - 1
    for i in range(last):
        x_i = _layer_input(network, i, cur, named)
        ins.append(x_i)
        cur = activate(network, i, convolve(network.layers[i], qs[i], x_i), shifts[i],
                       named)
    x_last = _layer_input(network, last, cur, named)
    ins.append(x_last)
    return ins, convolve(network.layers[last], qs[last], x_last)


def calibrate_shifts(network: Network, qs: list[np.ndarray], x: np.ndarray) -> list[int]:
    """Per-layer REQUANT shifts that bring the largest ReLU output over the inputs ``x``
    (stacked on axis 0) within INT8."""
    curs: list = list(np.asarray(x).reshape(-1, network.layers[0].ifmap_bytes))
    named: list[dict[str, np.ndarray]] = [{} for _ in curs]
    shifts: list[int] = []
    for i in range(len(network.layers) - 1):
        ins = [_layer_input(network, i, c, m) for c, m in zip(curs, named, strict=True)]
        accs = [convolve(network.layers[i], qs[i], c) for c in ins]
        # The largest value REQUANT sees: ReLU'd, or signed when the output is added.
        peak = max(int(a.max() if network.relu(i) else np.abs(a).max()) for a in accs)
        shifts.append(max(0, int(np.ceil(np.log2((peak + 1) / 127.0)))) if peak > 127 else 0)
        curs = [activate(network, i, a, shifts[i], m)
                for a, m in zip(accs, named, strict=True)]
    return shifts
