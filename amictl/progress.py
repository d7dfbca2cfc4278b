"""A Rich progress bar on stderr, one listener of the runner's plain progress events."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# Fewer images than this finish before a bar would be worth drawing.
MIN_ITEMS_FOR_BAR = 5


class RichProgress:
    """Thread-safe: workers call advance() concurrently."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._task: int | None = None

    def start(self, total: int, description: str) -> None:
        with self._lock:
            if total < MIN_ITEMS_FOR_BAR:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._task = self._progress.add_task(description, total=total)
            self._progress.start()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            if self._progress is not None and self._task is not None:
                self._progress.advance(self._task, n)  # type: ignore[arg-type]

    def finish(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
            self._progress = None
            self._task = None


def progress_for(console: Console, enabled: bool) -> RichProgress | None:
    """A bar only on a terminal and when not quiet; None means no progress display."""
    return RichProgress(console) if enabled and console.is_terminal else None
