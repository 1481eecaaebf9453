"""The `compose` command: argument parsing, progress and reporting only.

Each command builds its options, calls one library function and prints. Heavy
libraries (ray, fluidsynth, torch) are imported inside the commands that use them,
so `compose --help` answers at once.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path

import click

from scorefarm import __version__
from scorefarm.errors import AudioInputError, InputError

from .errors import ComposeGroup
from .progress import film_progress, print_film_table


WAV_SUFFIXES = (".wav", ".bwf")


@click.group(cls=ComposeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="compose")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """scorefarm: from a composer's sketch to delivered stems."""
    ctx.ensure_object(dict)["debug"] = debug


@cli.command(short_help="Render a score or a film to stems and a mastered mix.")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output folder.")
@click.option("--soundfont", default=None, help="SoundFont: a catalogue name or a path (default: the cue list's, "
              "or 'default').")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Film: cues rendered at once.")
@click.option("--address", default=None, help="Film: an existing Ray cluster (auto, HOST:PORT or ray://HOST:PORT); "
              "default: an embedded local Ray (or $RAY_ADDRESS).")
@click.option("--force", is_flag=True, help="Film: re-render cues whose outputs are already up to date.")
def render(source: Path, out_dir: Path, soundfont: str | None, workers: int | None, address: str | None,
           force: bool) -> None:
    """Render a score or a whole film to 48 kHz / 24-bit stems and a mastered mix.

    SOURCE is a MIDI file (rendered here) or a film cue list, film.toml (every cue
    rendered on Ray).

    \b
    Examples:
      compose render sketch.mid -o out/sketch
      compose render corpora/demo/film.toml -o out/demo --workers 2
    """
    if source.suffix.lower() == ".toml":
        from scorefarm.render.farm import FarmOptions, render_film
        from scorefarm.symbolic.cue_checks import cue_list_warnings
        from scorefarm.symbolic.cuelist import load_cue_list

        cue_list = load_cue_list(source)
        for line in cue_list_warnings(cue_list):  # said before the render, which goes on
            click.echo(f"compose: warning: {source}: {line}", err=True)
        options = FarmOptions(address=address, workers=workers, force=force, soundfont=soundfont)
        with film_progress(len(cue_list.cues)) as progress:
            report = render_film(cue_list, out_dir, options, progress=progress)
        print_film_table(report)
        for line in report.warnings:
            click.echo(f"compose: warning: {source}: {line}", err=True)
        if report.failed:
            failed = f"compose: {len(report.failed)} of {len(report.outcomes)} cues failed"
            if report.delivered:  # a partial film: the cue sheet lists the cues delivered
                click.echo(failed, err=True)
                sys.exit(1)
            bad_input = all(o.bad_input for o in report.failed)
            click.echo(f"{failed}; no cue sheet or film manifest written", err=True)
            sys.exit(2 if bad_input else 1)
        return
    from scorefarm.render.single import render_score_file

    product = render_score_file(source, out_dir, soundfont=soundfont or "default")
    for name in sorted(product.files):
        click.echo(str(out_dir / name))
    for note in product.notes:
        click.echo(f"note: {note}", err=True)


@cli.command(short_help="Master a WAV to a loudness target and true-peak ceiling.")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="Mastered WAV (.wav or .bwf; not the input itself).")
@click.option("--lufs", type=float, default=-23.0, show_default=True, help="Integrated loudness target (LUFS).")
@click.option("--true-peak", "true_peak", type=float, default=-1.0, show_default=True,
              help="True-peak ceiling (dBTP).")
def master(source: Path, out_path: Path, lufs: float, true_peak: float) -> None:
    """Master a mix (any WAV, or AIFF, FLAC, Wave64, CAF; mono to 7.1) to a loudness target
    and a true-peak ceiling, written as a 48 kHz / 24-bit WAV.

    \b
    Example:
      compose master rough_mix.wav --lufs -23 --true-peak -1 -o mix.wav
    """
    from scorefarm.files import check_output
    from scorefarm.render.master import MasterOptions, master_file

    check_output(out_path, WAV_SUFFIXES, "a WAV file", inputs=(source,))
    if not -70.0 <= lufs <= 0.0:
        raise InputError(f"--lufs {lufs} is outside -70..0 LUFS")
    if not -20.0 <= true_peak <= 0.0:
        raise InputError(f"--true-peak {true_peak} is outside -20..0 dBTP")
    result = master_file(source, out_path, MasterOptions(loudness_lufs=lufs, true_peak_dbtp=true_peak))
    loudness = "loudness not measurable" if result.loudness_lufs is None else f"{result.loudness_lufs:.1f} LUFS"
    click.echo(f"{out_path}: {loudness}, {result.true_peak_dbtp:.2f} dBTP, gain {result.gain_db:+.1f} dB")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


@cli.command(short_help="Re-voice a stem with a local MusicGen-Melody model.")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--prompt", required=True, help="Text prompt: the cue's mood.")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), required=True,
              help="Local folder of a MusicGen-Melody model (safetensors); nothing is downloaded.")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), required=True, help="Output WAV.")
@click.option("--mode", type=click.Choice(["replace", "mix"]), default="replace", show_default=True,
              help="Replace the stem, or mix the new layer under it.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--window-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Generation window; longer stems continue window by window.")
@click.option("--overlap-seconds", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def resynth(source: Path, prompt: str, model_dir: Path, out_path: Path, mode: str, seed: int,
            window_seconds: float, overlap_seconds: float, device: str) -> None:
    """Re-synthesize a rendered stem with MusicGen-Melody, conditioned on the stem's
    chroma and a text prompt, written 48 kHz / 24-bit.

    The published MusicGen weights are licensed CC-BY-NC 4.0: non-commercial use only.

    \b
    Example:
      compose resynth out/1M1/1M1_strings.wav --prompt "misty dawn, low strings" \\
          --model ~/models/musicgen-melody -o 1M1_strings_resynth.wav
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    from scorefarm.files import check_output
    from scorefarm.render.resynth import ResynthOptions, resynthesize
    from scorefarm.render.wavio import read_wav, write_wav

    hf_logging.disable_progress_bar()
    check_output(out_path, WAV_SUFFIXES, "a WAV file", inputs=(source,))
    options = ResynthOptions(model_dir=model_dir, prompt=prompt, seed=seed, mode=mode,
                             window_seconds=window_seconds, overlap_seconds=overlap_seconds, device=device)
    stem = read_wav(source)
    try:
        result = resynthesize(stem.audio, stem.sample_rate, options)
    except AudioInputError as exc:  # a stem it cannot use (channels, no finite samples): name its file
        if exc.path is not None:
            raise
        raise type(exc)(exc.message, source) from None
    bext = stem.bext
    if bext is not None and stem.sample_rate != 48000:  # the time reference counts samples
        bext = dataclasses.replace(bext, time_reference=bext.time_reference * 48000 // stem.sample_rate)
    write_wav(out_path, result.audio, 48000, bit_depth=24, bext=bext)
    click.echo(str(out_path))
    for note in result.notes:  # the licence notice first
        click.echo(f"note: {note}", err=True)


from .extend_commands import extend, train  # noqa: E402  (light: torch and miditok load inside)
from .harmony_commands import analyze, check, harmonize  # noqa: E402  (light: no music21 at import)
from .arrange_commands import orchestrate  # noqa: E402  (light: torch and music21 load inside)

for _command in (extend, train, analyze, harmonize, check, orchestrate):
    cli.add_command(_command)


TERMINATED = b"compose: terminated; finished outputs are kept, nothing half-written\n"
_terminated_by: int | None = None  # the signal that ended the command, once one has


def _terminated(signum, frame) -> None:
    """SIGTERM (``timeout``, a job scheduler) ends the command the way Ctrl-C does:
    the temporary files and empty folders of unfinished outputs are removed on the
    way out, finished outputs are kept. A second SIGTERM kills at once.

    The line goes straight to file descriptor 2: the signal may land while the main
    thread is inside a write to ``sys.stderr`` (a progress bar), and writing to it
    again here would fail ("reentrant call")."""
    global _terminated_by
    _terminated_by = signum
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.write(2, TERMINATED)
    except OSError:  # no stderr to tell: exit all the same
        pass
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        cli(prog_name="compose")
    except SystemExit:
        # The handler's SystemExit may come out as another: ray.wait, where a film's
        # driver waits, turns an exception raised in a signal handler into SystemExit(1).
        if _terminated_by is not None:
            raise SystemExit(128 + _terminated_by) from None
        raise


if __name__ == "__main__":
    main()
