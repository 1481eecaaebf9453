"""Build the extension model's training corpus (one command, cached).

    python corpora/build_corpus.py                       # all of music21's sources
    python corpora/build_corpus.py --midi-dir ~/cues     # plus a folder of your MIDI files
    python corpora/build_corpus.py --sources bach essen --max-files 5   # a quick subset

Writes corpora/build/ (gitignored): midi/<source>/*.mid, cache/ and manifest.json
with each piece's identity and its train / validation / test split. A rerun parses
only files it has not seen. See corpora/README.md for sources and licences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scorefarm.errors import InputError
from scorefarm.symbolic.corpus import SOURCES, BuildOptions, build_corpus

DEFAULT_BUILD = Path(__file__).resolve().parent / "build"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD)
    parser.add_argument("--sources", nargs="*", default=[s.name for s in SOURCES],
                        help="music21 sources to include (default: all): " + " ".join(s.name for s in SOURCES))
    parser.add_argument("--midi-dir", action="append", default=[], help="a folder of your MIDI files (repeatable)")
    parser.add_argument("--max-files", type=int, default=None, help="at most this many files per source")
    parser.add_argument("--time-limit-minutes", type=float, default=None,
                        help="start no new source file after this long (the manifest says so)")
    parser.add_argument("--cached-only", action="store_true",
                        help="write a manifest of the files already converted; parse nothing new")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    options = BuildOptions(
        sources=tuple(args.sources), midi_dirs=tuple(str(d) for d in args.midi_dir),
        max_files_per_source=args.max_files, cached_only=args.cached_only,
        time_limit_seconds=None if args.time_limit_minutes is None else args.time_limit_minutes * 60,
    )
    started = time.monotonic()

    def progress(info: dict) -> None:
        if not args.quiet:
            print(f"{info['source']:>10} {Path(info['file']).name:<40} {info['pieces']:5d} pieces "
                  f"{info['failed']:3d} failed {info['seconds']:6.1f} s", flush=True)

    try:
        manifest = build_corpus(args.build_dir, options, progress)
    except InputError as exc:
        print(f"build_corpus: error: {exc.one_line()}", file=sys.stderr)
        return 2
    print(f"built {sum(manifest['counts'].values())} pieces {manifest['counts']} in "
          f"{time.monotonic() - started:.0f} s" + (" (incomplete: time limit or --cached-only)" if manifest["stopped_early"] else "")
          + f" -> {args.build_dir / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
