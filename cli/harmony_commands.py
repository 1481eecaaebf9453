"""`compose analyze`, `compose harmonize`, `compose check`: harmony and voice leading.

Thin commands: each builds its options, calls one library function in
``scorefarm.symbolic`` and prints. Library errors (InputError subclasses) reach
the group's error handler, which turns them into one line and exit status 2;
``check --strict`` exits 1 when faults are found.
"""

from __future__ import annotations

from pathlib import Path

import click

from scorefarm.symbolic.chords import parse_key


def _key_option(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    try:
        return parse_key(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; allowed: a note name with 'major' or 'minor', e.g. 'D minor', 'Bb', 'f#m'",
                                 param_hint="--key") from None


def _key_callback(ctx: click.Context, param: click.Parameter, value: str | None):
    return _key_option(value)


def _default_out(source: Path, suffix: str) -> Path:
    return source.with_name(f"{source.stem}.{suffix}.mid")


def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {note}", err=True)


# ---------------------------------------------------------------- analyze


@click.command(short_help="Key, chords and Roman numerals per beat of a score.")
@click.argument("score", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--key", default=None, callback=_key_callback, metavar="KEY",
              help="Use one key throughout (e.g. 'D minor', 'Bb') instead of finding keys by windows.")
@click.option("--window-bars", type=click.IntRange(min=1), default=3, show_default=True,
              help="Bars in each key-finding window.")
def analyze(score: Path, as_json: bool, key: tuple[int, str] | None, window_bars: int) -> None:
    """Analyse the harmony of SCORE (MIDI or MusicXML): the key by windows of
    bars (with modulations), and at every beat the chord and its Roman numeral.

    \b
    Example:
      compose analyze sketch.mid
      compose analyze chorale.musicxml --json > analysis.json
    """
    from scorefarm.symbolic.analysis import AnalyzeOptions, analyze_file

    result = analyze_file(score, AnalyzeOptions(key=key, key_window_bars=window_bars))
    if as_json:
        click.echo(result.to_json())
        return
    rows = [("bar", "beat", "key", "chord", "numeral"), *result.table()]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    _notes(result.notes)


# ---------------------------------------------------------------- harmonize


@click.command(short_help="Harmonize a melody in four parts (SATB).")
@click.argument("melody", type=click.Path(path_type=Path))
@click.option("--style", type=click.Choice(["chorale", "film"]), default="chorale", show_default=True,
              help="chorale: Bach-chorale harmony, a chord a beat; film: a chord a half bar held under the melody, "
                   "modal mixture, added tones, pedal points and open voicings.")
@click.option("--harmonic-rhythm", type=click.Choice(["beat", "half-bar", "bar"]), default=None,
              help="How often the chord may change. Default: beat for chorale, half-bar for film.")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Output MIDI file, not the melody itself (default: MELODY.harmonized.mid beside the melody).")
@click.option("--key", default=None, callback=_key_callback, metavar="KEY",
              help="Harmonize in this key (e.g. 'D minor') instead of the one found from the melody.")
@click.option("--embellish", type=click.Choice(["learned", "passing", "none"]), default=None,
              help="Passing eighths in alto, tenor and bass: 'learned' where Bach fills that voice's third more "
                   "often than not, 'passing' in every third, 'none'. Default: learned for chorale, none for film.")
@click.option("--passing-tones", is_flag=True, help="Same as --embellish passing.")
def harmonize(melody: Path, style: str, harmonic_rhythm: str | None, out_path: Path | None,
              key: tuple[int, str] | None, embellish: str | None, passing_tones: bool) -> None:
    """Write MELODY (MIDI or MusicXML) as the soprano of a four-part texture:
    alto, tenor and bass are chosen by a search that rewards the progressions
    of Bach's chorales and punishes voice-leading faults. The melody is kept
    as it is (its top line is taken if it has chords; it is moved by octaves
    if it lies outside the soprano range, and the notes say so).

    \b
    Example:
      compose harmonize tune.mid -o tune_satb.mid
      compose harmonize theme.mid --style film --key "D minor"
      compose harmonize hymn.mid --harmonic-rhythm half-bar
    """
    from scorefarm.symbolic.harmonize import HarmonizeOptions, harmonize_file
    from scorefarm.symbolic.voices import check_midi_output

    out_path = check_midi_output(out_path or _default_out(melody, "harmonized"), inputs=(melody,))
    options = HarmonizeOptions(style=style, key=key, embellish="passing" if passing_tones else embellish,
                               harmonic_rhythm=harmonic_rhythm)
    notes = harmonize_file(melody, out_path, options)
    click.echo(str(out_path))
    _notes(notes)


# ---------------------------------------------------------------- check


@click.command(short_help="Check voice leading; --fix re-voices the inner parts.")
@click.argument("score", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any fault is found (after --fix: remains); "
              "doubled lines are scoring, no faults.")
@click.option("--fix", is_flag=True, help="Re-voice the inner voices to remove the faults it can, and write SCORE "
              "with only the re-voiced notes changed (tracks, channels, programs, velocities and controllers kept).")
@click.option("--fix-bass", is_flag=True, help="With --fix: the bass may move by octaves too.")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="With --fix: output MIDI file, not the score itself (default: SCORE.fixed.mid beside the score).")
@click.option("--key", default=None, callback=_key_callback, metavar="KEY",
              help="The key for leading-tone and seventh rules (default: found by windows).")
@click.option("--style", type=click.Choice(["chorale", "film"]), default="chorale", show_default=True,
              help="film: judge by the film style's wider ranges and open spacing (a twelfth between upper voices).")
def check(score: Path, as_json: bool, strict: bool, fix: bool, fix_bass: bool, out_path: Path | None,
          key: tuple[int, str] | None, style: str) -> None:
    """Check the voice leading of SCORE (MIDI with one track per voice, or
    block chords; or MusicXML): parallel and antiparallel fifths and octaves,
    hidden fifths and octaves in the outer voices, voice crossing and overlap,
    upper voices more than an octave apart, notes outside each part's range,
    unresolved leading tones and sevenths. Each fault is given with its bar,
    beat and voices. A part with double stops is checked as its principal
    line: the top note of each, the bottom one in the lowest part (the bass);
    the notes left out are counted. A part of chords (three notes or more at
    over a quarter of its onsets, as a keyboard accompaniment) is refused.
    Two voices moving in octaves or unisons through three or more successive
    moves double one line (scoring, as the viola doubling the cello): the
    stretch is listed once after the faults, and is no fault.

    \b
    Example:
      compose check chorale.mid
      compose check exercise.musicxml --strict --json
      compose check chorale.mid --fix -o chorale_fixed.mid
    """
    from scorefarm.symbolic.harmonize import check_options_for

    options = check_options_for(style, key)
    if fix_bass and not fix:
        raise click.UsageError("--fix-bass needs --fix")
    if out_path is not None and not fix:
        raise click.UsageError("-o/--out needs --fix")
    if fix:
        from scorefarm.symbolic.vl_fix import FixOptions, fix_file
        from scorefarm.symbolic.voices import check_midi_output

        out_path = check_midi_output(out_path or _default_out(score, "fixed"), inputs=(score,))
        result = fix_file(score, out_path, FixOptions(move_bass=fix_bass, check=options))
        report = result.after
        if as_json:
            click.echo(result.to_json(str(out_path)))
        else:
            _print_report(result.before, "before")
            click.echo(str(out_path))
            for line in result.notes:
                click.echo(line)
    else:
        from scorefarm.symbolic.voiceleading import check_file

        report = check_file(score, options)
        if as_json:
            click.echo(report.to_json())
        else:
            _print_report(report, None)
    if strict and report.faults:
        raise click.exceptions.Exit(1)


def _print_report(report, label: str | None) -> None:
    for fault in report.faults:
        click.echo(fault.describe())
    for doubling in report.doublings:
        click.echo(doubling.describe())
    counts = report.counts()
    summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()) or "no faults"
    where = f" ({label})" if label else ""
    voices = f"{len(report.voices)} voices" if len(report.voices) != 1 else "1 voice"
    click.echo(f"{len(report.faults)} fault(s){where} in {report.transitions} transitions of "
               f"{voices} ({', '.join(report.voices)}): {summary}"
               + (f"; {len(report.doublings)} doubled stretch(es)" if report.doublings else ""))
    _notes(report.notes)


COMMANDS = (analyze, harmonize, check)
