"""Reading the harness's signals fast: values come from the simulator's bit strings
(:func:`signal_text`: no BinaryValue), as integers, bit arrays or packed fields."""

from __future__ import annotations

import numpy as np
from cocotb.handle import SimHandleBase


def signal_text(handle: SimHandleBase) -> str:
    """A signal's bit string, most significant first, straight from the simulator: no
    BinaryValue is built (a few microseconds per read, on every transaction). Uses
    cocotb 1.9's GPI handle, as pinned in pyproject.toml."""
    return handle._handle.get_signal_val_binstr()


def signal_int(handle: SimHandleBase) -> int:
    """A vector signal's unsigned value; an X or Z bit raises ValueError naming it."""
    text = signal_text(handle)
    try:
        return int(text, 2)
    except ValueError:
        raise ValueError(f"{handle._path} has X or Z bits: {text}") from None


def signal_bits(handle: SimHandleBase) -> np.ndarray:
    """A vector signal's bits, least significant first, as a uint8 array of 0/1 (read
    from the simulator's bit string: a wide vector never goes through a Python int).
    An X or Z bit raises ValueError naming the signal."""
    text = signal_text(handle)
    bits = np.frombuffer(text.encode("ascii"), dtype=np.uint8)[::-1] - ord("0")
    if (bits > 1).any():
        raise ValueError(f"{handle._path} has X or Z bits: {text}")
    return bits


def signal_ints(handle: SimHandleBase, bits: int, n: int, signed: bool) -> np.ndarray:
    """The first ``n`` ``bits``-bit fields of a vector signal, field 0 in the least
    significant bits (the layout :func:`firmware.packing.pack` makes of one word)."""
    fields = signal_bits(handle)[:n * bits].reshape(n, bits).astype(np.int64)
    out = fields @ (np.int64(1) << np.arange(bits, dtype=np.int64))
    return out - (fields[:, -1] << bits) if signed else out
