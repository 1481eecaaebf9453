"""`compose train` and `compose extend`: thin commands over scorefarm.symbolic.

The lead registers them in cli/main.py with ``cli.add_command(train)`` and
``cli.add_command(extend)``. torch, transformers and miditok are imported inside
the command functions so that `compose --help` stays fast.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click



@click.command(short_help="Train the sketch-extension model.")
@click.option("--corpus", "build_dir", type=click.Path(path_type=Path), default=Path("corpora/build"),
              show_default=True, help="Corpus build folder (python corpora/build_corpus.py).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=Path("models/extend"),
              show_default=True, help="Model folder (safetensors, config, tokenizer, training record).")
@click.option("--init-from", type=click.Path(path_type=Path), default=None,
              help="Fine-tune this model folder (e.g. models/extend) instead of starting from scratch.")
@click.option("--steps", "max_steps", type=click.IntRange(min=1), default=4000, show_default=True,
              help="Optimizer steps in all (the learning-rate schedule spans them).")
@click.option("--minutes", "max_minutes", type=click.FloatRange(min=0.1), default=None,
              help="Stop after this many minutes with a checkpoint; rerun the same command to resume.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Peak learning rate (default 1e-3 from scratch, 2e-4 fine-tuning).")
@click.option("--context", type=click.IntRange(min=32), default=512, show_default=True,
              help="Training window in tokens.")
@click.option("--hidden-size", type=click.IntRange(min=16), default=256, show_default=True)
@click.option("--layers", "num_layers", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--source", "sources", multiple=True,
              help="Train only on these corpus sources (repeatable; 'user' = your MIDI folder).")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads for torch.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def train(build_dir: Path, out_dir: Path, init_from: Path | None, max_steps: int, max_minutes: float | None,
          batch_size: int, learning_rate: float | None, context: int, hidden_size: int, num_layers: int,
          sources: tuple[str, ...], checkpoint_minutes: float, threads: int, seed: int) -> None:
    """Train the MIDI-token transformer that `compose extend` uses.

    Reads the corpus build's train split, checkpoints every few minutes into OUT
    (model.safetensors, config.json, tokenizer.json, training.json) and resumes
    when the same command is run again.

    \b
    Examples:
      python corpora/build_corpus.py
      compose train --steps 4000 -o models/extend
      python corpora/build_corpus.py --midi-dir ~/studio/cues --sources bach
      compose train --init-from models/extend --source user --steps 300 -o models/studio
    """
    from scorefarm.files import check_output_folder
    from scorefarm.symbolic.train import TrainOptions, train as run_training

    check_output_folder(out_dir, inputs=(init_from,) if init_from else ())  # before hours of training, not after
    heads = max(1, hidden_size // 64)
    options = TrainOptions(
        build_dir=str(build_dir), out_dir=str(out_dir), init_from=None if init_from is None else str(init_from),
        max_steps=max_steps, max_minutes=max_minutes, batch_size=batch_size,
        learning_rate=learning_rate if learning_rate is not None else (2e-4 if init_from else 1e-3),
        warmup_steps=20 if init_from else 200, context=context, hidden_size=hidden_size,
        num_layers=num_layers, num_heads=heads, intermediate_size=int(hidden_size * 2.75) // 8 * 8,
        sources=tuple(sources) or None, checkpoint_minutes=checkpoint_minutes, threads=threads, seed=seed,
    )

    def progress(info: dict) -> None:
        if info["event"] == "step":
            click.echo(f"step {info['step']:6d}  loss {info['loss']:.4f}  lr {info['lr']:.2e}  "
                       f"{info['elapsed_seconds'] / 60:7.1f} min", err=True)
        elif info["event"] == "eval":
            click.echo(f"step {info['step']:6d}  validation NLL/token {info['val_nll']:.4f}", err=True)
        elif info["event"] == "checkpoint":
            click.echo(f"checkpoint at step {info['step']} -> {info['path']}", err=True)
        elif info["event"] == "tokenize":
            click.echo(f"tokenizing {info['split']}: {info['done']}/{info['total']}", err=True)

    command = "compose train " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "train")
    record = run_training(options, progress, command=command)
    last = record["history"][-1] if record["history"] else {}
    click.echo(f"{out_dir}: step {record['step']}/{max_steps}, {record['hours']:.2f} h"
               + (f", validation NLL/token {last['val_nll']:.4f}" if last else "")
               + ("" if record["finished"] else " (not finished: rerun to resume)"))


@click.command(short_help="Continue a MIDI sketch by N bars.")
@click.argument("sketch", type=click.Path(path_type=Path))
@click.option("--bars", type=click.IntRange(min=1, max=256), default=8, show_default=True,
              help="Bars added after the sketch.")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=0.9, show_default=True)
@click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=0.95, show_default=True)
@click.option("--top-k", type=click.IntRange(min=0), default=0, show_default=True, help="0 = no top-k.")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True)
@click.option("--variations", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="Write this many variations (seeds SEED, SEED+1, ...).")
@click.option("--free", is_flag=True, help="Do not keep pitches in the sketch's key (nor its pitch-class profile).")
@click.option("--profile-weight", type=click.FloatRange(0, 4), default=0.5, show_default=True,
              help="Pull towards the sketch's pitch-class profile (0 = key only).")
@click.option("--cadence", is_flag=True,
              help="End on the tonic chord: the last bar in the tonic triad, the lowest voice on the tonic, "
                   "the last notes held.")
@click.option("--voices-may-rest", is_flag=True,
              help="Let a voice sounding in the sketch's last bar fall silent in the new bars (by default each "
                   "sounds in every new bar).")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="Model folder (default: the shipped model).")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Output MIDI, .mid or .midi (default: SKETCH_extended.mid; with --variations, _v1, _v2... are "
                   "added).")
def extend(sketch: Path, bars: int, temperature: float, top_p: float, top_k: int, seed: int, variations: int,
           free: bool, profile_weight: float, cadence: bool, voices_may_rest: bool, model_dir: Path | None,
           out_path: Path | None) -> None:
    """Continue a 4-8 bar MIDI sketch, keeping its key, metre, tempo and instruments.

    The output starts with the sketch note for note, then BARS more bars ending
    on a bar line. The same seed gives a byte-identical file.

    \b
    Examples:
      compose extend sketch.mid --bars 8 -o sketch_long.mid
      compose extend sketch.mid --bars 16 --temperature 0.8 --seed 3 --variations 4
      compose extend cue_end.mid --bars 4 --cadence
    """
    from scorefarm.symbolic.extend import ExtendOptions, extend_file, variation_path
    from scorefarm.symbolic.voices import check_midi_output

    if out_path is None:
        out_path = sketch.with_name(sketch.stem + "_extended.mid")
    for v in range(variations):  # the names extend_file writes: refuse a folder or the sketch before the work
        check_midi_output(variation_path(out_path, v, variations), inputs=(sketch,))
    options = ExtendOptions(bars=bars, temperature=temperature, top_p=top_p, top_k=top_k, seed=seed, free=free,
                            profile_weight=profile_weight, cadence=cadence, keep_voices=not voices_may_rest)
    results = extend_file(sketch, out_path, options, variations=variations, model_dir=model_dir)
    for result in results:
        click.echo(f"{result.path}: {result.sketch_bars} sketch bar(s) + {result.added_bars} bar(s), "
                   f"{result.added_notes} new note(s), seed {result.seed}")
        for note in result.notes:
            click.echo(f"note: {note}", err=True)


@click.group()
def _standalone() -> None:
    """Run these commands before the lead registers them in `compose`."""


_standalone.add_command(train)
_standalone.add_command(extend)

if __name__ == "__main__":
    _standalone(prog_name="compose")
