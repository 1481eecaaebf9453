"""The one place where errors become messages and exit codes.

InputError -> exit 2, any other ScorefarmError -> exit 1, anything unexpected ->
exit 1 with a one-line "internal error". No traceback unless --debug.
"""

from __future__ import annotations

import sys
import traceback

import click

from scorefarm.errors import InputError, ScorefarmError


class ComposeGroup(click.Group):
    """A click group that maps library errors to one line and an exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("compose: interrupted; finished outputs are kept, nothing half-written", err=True)
            sys.exit(130)
        except ScorefarmError as exc:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(f"compose: error: {exc.one_line()}", err=True)
            sys.exit(2 if isinstance(exc, InputError) else exc.exit_code)
        except Exception as exc:  # a bug: say so in one line, traceback on --debug
            if _debug(ctx):
                traceback.print_exc()
            text = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"compose: internal error: {type(exc).__name__}: {text} (rerun with --debug)", err=True)
            sys.exit(1)


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("debug"))
