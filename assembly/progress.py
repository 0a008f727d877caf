"""Progress bars on stderr for long CLI jobs: one tqdm bar per named stage."""

from __future__ import annotations

import sys

from tqdm import tqdm


class ProgressBars:
    """Call as `progress(stage, done, total)`; use as a context manager to close the bars."""

    def __init__(self, unit: str = " items") -> None:
        self.unit = unit
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(
                total=total, desc=f"{stage:>8}", unit=self.unit, file=sys.stderr
            )
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for bar in self.bars.values():
            bar.close()
