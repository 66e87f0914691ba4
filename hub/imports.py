"""What an import of a file reports: one line per refused row, and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Refusal:
    line: int
    reason: str


@dataclass
class ImportReport:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)

    def refuse(self, line: int, reason: str) -> None:
        self.refused.append(Refusal(line, reason))

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        return (
            f"{self.source}: {self.created} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.refused)} refused"
        )

    def refusal_lines(self) -> list[str]:
        return [f"{self.source}:{r.line}: {r.reason}" for r in self.refused]
