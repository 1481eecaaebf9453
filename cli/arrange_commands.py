"""`compose orchestrate`: a piano reduction as a playable orchestral score.

Thin: builds the options, calls ``scorefarm.arrange.output.write_orchestration`` and
prints what was written and what was done. Library errors become one line and
exit status 2 in the group's handler.
"""

from __future__ import annotations

import time

from pathlib import Path

import click


@click.command(short_help="Orchestrate a piano reduction for an ensemble.")
@click.argument("piano", type=click.Path(path_type=Path), required=False)
@click.option("--ensemble", default="full-orchestra", show_default=True, metavar="NAME",
              help="An ensemble template (string-quartet, strings, chamber, full-orchestra, hybrid, choir, piano, "
                   "or one from --ensemble-file), or a path to an ensemble TOML file.")
@click.option("--ensemble-file", "ensemble_files", multiple=True, type=click.Path(path_type=Path),
              help="A TOML file of your own ensembles (repeatable).")
@click.option("--strict", is_flag=True,
              help="Each source note on exactly one instrument, no doublings (the part-separation mode).")
@click.option("-o", "--output", "out_path", type=click.Path(path_type=Path), default=None,
              help="Output MIDI file, .mid or .midi. [default: PIANO.<ensemble>.mid beside the input]")
@click.option("--musicxml", "musicxml_path", type=click.Path(path_type=Path), default=None,
              help="Also write the score as uncompressed MusicXML, .musicxml or .xml (written pitch for "
                   "transposing instruments).")
@click.option("--keyswitches", "keyswitch_library", default="", metavar="LIBRARY",
              help="Add keyswitch notes for a sample library's articulations (see `--list-ensembles`).")
@click.option("--keyswitch-file", "keyswitch_files", multiple=True, type=click.Path(path_type=Path),
              help="A TOML file of your own keyswitch maps (repeatable), always read and checked; give "
                   "--keyswitches LIBRARY too, to choose the map (without it the file is refused, except with "
                   "--list-ensembles).")
@click.option("--list-ensembles", is_flag=True, help="List the ensembles and keyswitch maps, then exit.")
def orchestrate(piano: Path | None, ensemble: str, ensemble_files: tuple[Path, ...], strict: bool, out_path: Path | None,
                musicxml_path: Path | None, keyswitch_library: str, keyswitch_files: tuple[Path, ...],
                list_ensembles: bool) -> None:
    """Orchestrate PIANO (a MIDI piano reduction or sketch) for an ensemble: voices
    separated by the shipped model, placed by range, role and register, doubled
    with the dynamics, with articulations and CC1/CC11 dynamics.

    \b
    Example:
      compose orchestrate piano.mid --ensemble strings -o strings.mid --musicxml strings.musicxml
      compose orchestrate chorale.mid --ensemble string-quartet --strict
    """
    from scorefarm.arrange.catalogue import ensembles, keyswitch_maps

    if list_ensembles:
        for name, found in sorted(ensembles(ensemble_files).items()):
            count = len(found.parts)
            click.echo(f"{name}: {found.description} ({count} part{'s' if count != 1 else ''})")
        for name in sorted(keyswitch_maps(keyswitch_files)):
            click.echo(f"keyswitches {name}")
        return
    if piano is None:
        raise click.UsageError("missing the PIANO file to orchestrate (or give --list-ensembles)")
    from scorefarm.arrange.orchestrate import OrchestrateOptions
    from scorefarm.arrange.output import write_orchestration
    from scorefarm.errors import InputError
    from scorefarm.files import check_output
    from scorefarm.symbolic.voices import check_midi_output

    if out_path is None:
        out_path = piano.with_name(f"{piano.stem}.{Path(ensemble).stem}.mid")
    check_midi_output(out_path, inputs=(piano,))
    if musicxml_path is not None:
        check_output(musicxml_path, (".musicxml", ".xml"), "an uncompressed MusicXML file", inputs=(piano,))
    if keyswitch_files:  # read and checked even when unused: a broken file is never passed over in silence
        maps = keyswitch_maps(keyswitch_files)
        if not keyswitch_library:
            raise InputError(f"--keyswitch-file is given without --keyswitches; add --keyswitches LIBRARY to choose "
                             f"a map (known: {', '.join(sorted(maps))})", keyswitch_files[0])
    options = OrchestrateOptions(ensemble=ensemble, strict=strict, ensemble_files=tuple(map(str, ensemble_files)))
    started = time.perf_counter()  # the files' writing counted too: a large score's MusicXML takes longest
    result = write_orchestration(piano, out_path, options=options, musicxml_path=musicxml_path,
                                 keyswitch_library=keyswitch_library, keyswitch_files=keyswitch_files)
    click.echo(str(out_path))
    if musicxml_path is not None:
        click.echo(str(musicxml_path))
    playing = sorted({result.ensemble.parts[p.part].label for p in result.placed},
                     key=lambda label: [p.label for p in result.ensemble.parts].index(label))
    click.echo(f"note: {result.ensemble.name}: {len(result.source_notes)} source notes on {len(playing)} parts "
               f"({', '.join(playing)}) in {time.perf_counter() - started:.2f} s, of which orchestrating "
               f"{result.seconds:.2f} s", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
