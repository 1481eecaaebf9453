"""The one place where errors become messages and exit codes.

InputError -> exit 2, any other ScorefarmError -> exit 1, anything unexpected ->
exit 1 with a one-line "internal error". No traceback unless --debug. A reader
that closed our output (``compose analyze x.mid | head -5``) ends the command
quietly with status 141 (128 + SIGPIPE), as a Unix tool killed by SIGPIPE would:
no message, no traceback.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from scorefarm.errors import InputError, ScorefarmError


BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


class ComposeGroup(click.Group):
    """A click group that maps library errors to one line and an exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            if not _stdout_closed():  # another pipe broke (a worker's): that is a failure, said below
                return self._internal_error(ctx)
            _silence_stdout()
            sys.exit(BROKEN_PIPE_EXIT)
        except KeyboardInterrupt:
            click.echo("compose: interrupted; finished outputs are kept, nothing half-written", err=True)
            sys.exit(130)
        except ScorefarmError as exc:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(f"compose: error: {exc.one_line()}", err=True)
            sys.exit(2 if isinstance(exc, InputError) else exc.exit_code)
        except Exception:  # a bug: say so in one line, traceback on --debug
            return self._internal_error(ctx)

    @staticmethod
    def _internal_error(ctx: click.Context):
        exc = sys.exc_info()[1]
        if _debug(ctx):
            traceback.print_exc()
        text = " ".join(str(exc).split()) or type(exc).__name__
        click.echo(f"compose: internal error: {type(exc).__name__}: {text} (rerun with --debug)", err=True)
        sys.exit(1)


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("debug"))


def _stdout_closed() -> bool:
    """Has the reader of our stdout gone away? A pipe whose reading end is closed
    polls as an error. Without a real file behind stdout (click's test runner)
    the broken pipe can only have been ours."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return True
    try:
        import select

        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no poll on this platform: trust the error
        return True


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush of what is still
    buffered does not fail again ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind stdout (a test runner's buffer)
        pass
