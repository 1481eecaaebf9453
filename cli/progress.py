"""Progress and the final table: a bar on a terminal, quiet when piped."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.table import Table


@contextlib.contextmanager
def film_progress(total: int) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A film progress callback bound to one bar; a no-op when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda payload: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("film", total=total)

        def update(payload: dict[str, Any]) -> None:
            state = payload["state"]
            if state in ("done", "cached", "failed"):
                bar.advance(task)
                label = {"done": "rendered", "cached": "up to date", "failed": "FAILED"}[state]
                console.log(f"{payload['cue']}: {label}" + (f" ({payload['reason']})" if payload.get("reason") else ""))
            else:
                bar.update(task, description=f"film: {payload['cue']} {state}")

        yield update


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def film_table_title(report) -> tuple[str, str | None]:
    """The table's title and caption. A film of which no cue was delivered wrote nothing:
    the title says so and never names a folder as the output (the run may have made none,
    or removed the one it made); the caption says which of the folder's files are an
    earlier run's, when it holds any."""
    took = f"({report.wall_seconds:.1f} s)"
    if report.delivered:
        return f"{report.out_dir}  {took}", None
    if report.earlier_files:
        return (f"nothing written  {took}",
                f"the files in {report.out_dir} are from an earlier run, left as they were: "
                f"{', '.join(report.earlier_files)}")
    if Path(report.out_dir).is_dir():
        return f"nothing written  {took}", f"nothing was written to {report.out_dir}"
    return f"nothing written  {took}", f"no output folder: {report.out_dir} was not made"


def print_film_table(report) -> None:
    title, caption = film_table_title(report)
    table = Table(title=title, caption=caption)
    for column in ("cue", "state", "duration s", "loudness LUFS", "true peak dBTP", "wall s"):
        table.add_column(column, justify="left" if column in ("cue", "state") else "right")
    for o in report.outcomes:
        state = o.state if o.state != "failed" else f"failed: {o.reason}"
        table.add_row(o.cue_id, state, _fmt(o.duration_seconds, ".2f"), _fmt(o.loudness_lufs, ".1f"),
                      _fmt(o.true_peak_dbtp, ".2f"), _fmt(o.wall_seconds, ".1f"))
    Console(width=140 if not sys.stdout.isatty() else None).print(table)
