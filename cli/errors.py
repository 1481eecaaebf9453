"""The one place where errors become messages and exit codes.

InputError -> exit 2, any other ScorefarmError -> exit 1, anything unexpected ->
exit 1 with a one-line "internal error". No traceback unless --debug. A usage
error (an unknown option, a value out of range, a missing argument) is said in
one line too, with exit 2, instead of click's four-line usage block. A reader
that closed our output (``compose analyze x.mid | head -5``, ``compose --help |
head -1``) ends the command quietly with status 141 (128 + SIGPIPE), as a Unix
tool killed by SIGPIPE would: no message, no traceback.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from scorefarm.errors import InputError, ScorefarmError


BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


class OneLineUsageError(click.UsageError):
    """A usage error said the way every other error is: one line on stderr, exit 2."""

    def show(self, file=None) -> None:
        text = " ".join(self.format_message().split()).rstrip(".")
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"compose: error: {text}{hint}", err=True)


def _one_line(exc: click.UsageError) -> click.UsageError:
    # click 8.2 says a group's help for no arguments by raising NoArgsIsHelpError (a
    # UsageError whose message is the help): kept as it is. Looked up, not named, so
    # that a click without it (8.1 prints the help itself) reports usage errors too.
    shows_help = getattr(click.exceptions, "NoArgsIsHelpError", None)
    if isinstance(exc, OneLineUsageError) or (shows_help is not None and isinstance(exc, shows_help)):
        return exc
    return OneLineUsageError(exc.format_message(), exc.ctx)


class ComposeGroup(click.Group):
    """A click group that maps library errors to one line and an exit status."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        """The group's own options: --help, --version, --debug, an unknown option."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except BrokenPipeError:  # --help or --version into a closed pipe
            _quiet_exit_on_broken_pipe()
            raise

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a command's options and arguments, or an unknown command
            raise _one_line(exc) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _quiet_exit_on_broken_pipe()
            return self._internal_error(ctx)  # another pipe broke (a worker's): that is a failure
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


def _quiet_exit_on_broken_pipe() -> None:
    """Exit quietly with status 141 when the reader of our stdout has gone away;
    return (for the caller to report) when the broken pipe was another one."""
    if _stdout_closed():
        _silence_stdout()
        sys.exit(BROKEN_PIPE_EXIT)


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
