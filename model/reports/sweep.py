"""Design-space sweeps: a TOML spec expanded to points, each point run on its own (so the
points can run anywhere: local processes or a Dask cluster, :mod:`reram_pim.sweep`).

A spec names a base ``config``, ``networks`` and ``schedulers``, an ``[axes]`` table of
config fields (dotted, ``"pe.count"``) with value lists, whose product is the chip
points, and optionally an ``[accuracy]`` table: a ``config`` the digits CNN maps onto,
how many test ``digits``, and analog fields with value lists swept one at a time (the
others at the config's values). A chip point gives each network x scheduler's
inferences/s, cycles, energy and write pulses (timing and energy models); an accuracy
point gives the digits CNN's test accuracy through the golden model (its analog crossbar
models: programming variation, read noise, ADC) beside that inference's cycles and
energy. Each point's result is one JSON file named by the point's key, so a rerun skips
the points already done.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware import config, network, schedulers
from firmware.isa import RTL_OPCODES
from firmware.onnx_import import load_int8
from firmware.packing import unpack
from firmware.textfile import read_utf8
from model import energy, golden, timing
from model.inference import evaluate

#: The keys a spec may hold at its top level and in ``[accuracy]`` (besides fields).
SPEC_KEYS = ("config", "networks", "schedulers", "axes", "accuracy")
ACCURACY_KEYS = ("config", "digits")


class SweepError(ValueError):
    """A sweep spec that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class SweepSpec:
    config: str
    networks: tuple[str, ...]
    schedulers: tuple[str, ...]
    axes: dict[str, tuple]
    accuracy_config: str | None
    digits: int
    analog: dict[str, tuple]
    source: str


def read_spec(path: str | Path) -> SweepSpec:
    """Parse and check a sweep spec; every point's config is built once here, so a bad
    field or value is found before anything runs."""
    path = Path(path)
    try:
        raw = tomllib.loads(read_utf8(path, "sweep spec", SweepError))
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    for key in raw:
        if key not in SPEC_KEYS:
            raise SweepError(f"{path}: unknown key '{key}'; expected {', '.join(SPEC_KEYS)}")
    acc = raw.get("accuracy", {})
    if not isinstance(acc, dict) or not isinstance(raw.get("axes", {}), dict):
        raise SweepError(f"{path}: [axes] and [accuracy] must be tables")
    spec = SweepSpec(
        config=_string(raw, "config", path, "aras"),
        networks=tuple(_strings(raw, "networks", path)),
        schedulers=tuple(_strings(raw, "schedulers", path, ["+reuse"])),
        axes={k: _values(v, f"axes.{k}", path) for k, v in raw.get("axes", {}).items()},
        accuracy_config=_string(acc, "config", path, "small") if acc else None,
        digits=_count(acc.get("digits", 50), "accuracy.digits", path),
        analog={k: _values(v, f"accuracy.{k}", path) for k, v in acc.items()
                if k not in ACCURACY_KEYS},
        source=str(path))
    for s in spec.schedulers:
        if s not in schedulers.SCHEDULERS:
            raise SweepError(f"{path}: schedulers: unknown '{s}'; expected one of "
                             f"{', '.join(schedulers.SCHEDULERS)}")
    if not spec.networks and not spec.analog:
        raise SweepError(f"{path}: nothing to sweep; expected networks (with [axes]) or "
                         "[accuracy] fields")
    for name in spec.networks:
        if not (name in network.BUILTIN or Path(name).is_file()):
            raise SweepError(f"{path}: networks: '{name}' is neither a built-in network "
                             f"({', '.join(network.BUILTIN)}) nor a file")
    for point in points(spec):
        point_config(spec, point)
    return spec


def _string(raw: dict, key: str, path: Path, default: str) -> str:
    v = raw.get(key, default)
    if not isinstance(v, str):
        raise SweepError(f"{path}: {key}: expected a string, got {v!r}")
    return v


def _strings(raw: dict, key: str, path: Path, default: list | None = None) -> list[str]:
    v = raw.get(key, default or [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise SweepError(f"{path}: {key}: expected a list of strings, got {v!r}")
    return v


def _count(v: Any, key: str, path: Path) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise SweepError(f"{path}: {key}: expected a positive integer, got {v!r}")
    return v


def _values(v: Any, key: str, path: Path) -> tuple:
    if not isinstance(v, list) or not v:
        raise SweepError(f"{path}: {key}: expected a non-empty list of values, got {v!r}")
    return tuple(v)


def points(spec: SweepSpec) -> list[dict]:
    """Every point: ``{"kind": "chip" | "accuracy", "fields": {dotted: value}}``."""
    out = []
    if spec.networks:
        names = list(spec.axes)
        for values in itertools.product(*(spec.axes[n] for n in names)):
            out.append({"kind": "chip", "fields": dict(zip(names, values, strict=True))})
    for name, values in spec.analog.items():
        out += [{"kind": "accuracy", "fields": {name: v}} for v in values]
    return out


def point_key(spec: SweepSpec, point: dict) -> str:
    """A stable name for a point's result file: the point and what of the spec it runs
    on (config, networks and schedulers, or the accuracy config and digits), so a point
    of an edited spec is not taken for one already done."""
    on = ({"config": spec.config, "networks": spec.networks, "schedulers": spec.schedulers}
          if point["kind"] == "chip" else
          {"config": spec.accuracy_config, "digits": spec.digits})
    text = json.dumps({"point": point, "on": on}, sort_keys=True)
    return f"{point['kind']}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def with_fields(cfg: config.Config, fields: dict[str, Any], source: str) -> config.Config:
    """``cfg`` with the dotted ``fields`` set, validated (errors name the field)."""
    raw = tomllib.loads(config.to_toml(cfg))
    for dotted, value in fields.items():
        section, _, name = dotted.partition(".")
        if section not in raw or name not in raw[section]:
            raise SweepError(f"{source}: '{dotted}' is not a config field; expected "
                             "section.field, e.g. pe.count")
        raw[section][name] = value
    return config.from_dict(raw, source=f"{source} ({cfg.chip.name} with "
                            + ", ".join(f"{k}={v}" for k, v in fields.items()) + ")")


def point_config(spec: SweepSpec, point: dict) -> config.Config:
    base = spec.config if point["kind"] == "chip" else spec.accuracy_config
    return with_fields(config.load(base), point["fields"], spec.source)


def run_point(spec: SweepSpec, point: dict) -> list[dict]:
    """The rows of one point (what a worker runs)."""
    cfg = point_config(spec, point)
    if point["kind"] == "accuracy":
        return [_accuracy_row(cfg, spec.digits) | {"kind": "accuracy", **point["fields"]}]
    rows = []
    for name in spec.networks:
        net, qs = _network(name)
        for sched in spec.schedulers:
            f = evaluate(cfg, schedulers.schedule(cfg, net, qs, sched))
            rows.append({"kind": "chip", **point["fields"], "network": net.name,
                         "scheduler": sched, "inferences_per_s": f.inferences_per_s,
                         "cycles": f.cycles, "energy_uj": f.energy.total_pj / 1e6,
                         "write_pulses": f.pulses})
    return rows


@functools.lru_cache(maxsize=8)
def _network(name: str) -> tuple[network.Network, list[np.ndarray]]:
    """Loaded once per worker process and network."""
    return load_int8(name)


@functools.lru_cache(maxsize=1)
def _digits():
    """The digits CNN trained and deployed once per process (seeded: the same on every
    worker), and its INT8 test digits."""
    from model.training.cnn import DIGITS_CNN, deploy, digits_split, to_int8, train_network

    split = digits_split()
    net = train_network(DIGITS_CNN, split)
    qs, shifts = deploy(net, to_int8(split.x_train[:200]))
    return DIGITS_CNN, qs, shifts, to_int8(split.x_test), split.y_test


def _accuracy_row(cfg: config.Config, digits: int) -> dict:
    """The digits CNN's accuracy on its first ``digits`` test digits, each run through
    the golden model on ``cfg`` (its analog models draw the config's noise), with the
    cycles and energy of one inference."""
    from model.training.cnn import DIGITS_CNN

    net, qs, shifts, xs, ys = _digits()
    right = 0
    cycles = pj = 0.0
    n = min(digits, len(xs))
    for x, y in zip(xs[:n], ys[:n], strict=True):
        image = schedulers.naive(cfg, net, qs, x, shifts).image
        gold = golden.run(image, RTL_OPCODES)
        logits = _logits(image, gold, DIGITS_CNN)
        right += int(int(np.argmax(logits)) == int(y))
        t = timing.simulate(cfg, gold)
        cycles += t.cycles
        pj += energy.energy(cfg, gold, t.cycles, t.bank_active_cycles).total_pj
    return {"network": "digits", "accuracy": right / n, "digits": n,
            "cycles": cycles / n, "energy_uj": pj / n / 1e6}


def _logits(image, gold, net: network.Network) -> np.ndarray:
    """The classifier's int32 outputs from the run's main memory."""
    r = image.regions["outputs"]
    out = unpack(gold.dram[r.addr:r.addr + r.count], 32, image.config.dram_bits,
                 r.elements, signed=True)
    last = net.layers[-1]
    return out.reshape(last.windows, -1)[:, :last.filters].ravel()
