"""Reading the project's text inputs (topologies, configs) as UTF-8 with one-line errors."""

from __future__ import annotations

from pathlib import Path


def read_utf8(path: Path, what: str, error: type[ValueError]) -> str:
    """The text of ``path`` as UTF-8 (a leading BOM is dropped); raise ``error`` naming the
    file, the line and the offending byte if it cannot be read or is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}:{line}: byte {data[exc.start]:#04x} at offset {exc.start} is "
                    f"not UTF-8; expected a UTF-8 (or ASCII) text {what}") from None
