"""Progress bars for the long commands: tqdm on stderr, shown only on a terminal (so
``--json`` output and CI logs stay clean)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(total: int, what: str) -> Iterator[Callable[[str], None]]:
    """A callback that advances a bar of ``total`` steps, naming the step just done."""
    from tqdm import tqdm

    with tqdm(total=total, desc=what, unit="step", disable=None, leave=False) as bar:
        def step(done: str) -> None:
            bar.set_postfix_str(done, refresh=False)
            bar.update()
        yield step
