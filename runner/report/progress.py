"""The live progress line on a terminal: `[3/10] 2 passed, 1 failed`, on stderr.

It is drawn only when stderr is a terminal and more than one run is under way, and it is
cleared before each flow's block is printed, so the blocks never mix with it.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = self.passed = self.failed = 0
        self.live = total > 1 and self.stream.isatty()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def advance(self, passed: bool) -> None:
        self.done += 1
        self.passed += passed
        self.failed += not passed
        if self.live:
            self.stream.write(f"\r\x1b[K[{self.done}/{self.total}] {self.passed} passed, {self.failed} failed")
            self.stream.flush()
