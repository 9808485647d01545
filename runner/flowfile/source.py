"""Where things are in a flow file, and how a problem found there is shown to a person.

Every model node carries a `Span` copied from the YAML parser's marks at load time; the file's
text is kept in a `SourceFile` so that a problem found much later (a failed assertion, a template
error mid-run) can quote the offending line without opening the file again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A flow file's path as the user named it, and its text."""

    path: str
    text: str = field(repr=False)

    def line(self, number: int) -> str:
        """The 1-based line `number`, or '' past the end."""
        # Split on demand, not kept: only problems quote lines, and a thousand flows' worth of
        # split copies would double the memory their text takes.
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True, slots=True, repr=False)  # its own __repr__ below
class Span:
    """A 1-based line and column in a source file."""

    source: SourceFile
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source.path}:{self.line}:{self.column}"

    def __repr__(self) -> str:
        return f"Span({self})"

    def shifted(self, lines: int) -> Span:
        """The same column, `lines` further down (for errors inside a multi-line string)."""
        return Span(self.source, self.line + lines, self.column if lines == 0 else 1)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow: where, what, and how to fix it."""

    span: Span | None
    message: str
    hint: str = ""
    step: str = ""

    def render(self) -> str:
        """`file:line:col: error: message`, the quoted line with a caret, and the hint."""
        where = f"{self.span}: " if self.span else ""
        in_step = f" (step '{self.step}')" if self.step else ""
        out = [f"{where}error: {self.message}{in_step}"]
        if self.span:
            text = self.span.source.line(self.span.line)
            if text.strip():
                gutter = f"{self.span.line:>4} | "
                out.append(f"{gutter}{text}")
                out.append(" " * (len(gutter) + self.span.column - 1) + "^")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "did you mean `x`?" hint for a misspelt name, or '' when nothing is close."""
    import difflib  # only a problem pays for it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def plural(count: int, noun: str) -> str:
    """`1 step`, `2 steps`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
