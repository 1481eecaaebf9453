#!/usr/bin/env bash
# Installs the system parts scorefarm needs when they are missing: the FluidSynth
# library (and its CLI, used by the render benchmark) and a General MIDI SoundFont.
# Uses apt where apt and root are available; elsewhere stops with one line saying
# what to run on this platform. Quick and silent when everything is present.
set -euo pipefail

any_file() { for f in "$@"; do [ -f "$f" ] && return 0; done; return 1; }
have_lib() { ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so' || any_file /usr/lib/*/libfluidsynth.so.* /usr/local/lib/libfluidsynth.* /opt/homebrew/lib/libfluidsynth.*; }
have_sf2() { any_file /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/soundfonts/FluidR3_GM.sf2 /opt/homebrew/share/soundfonts/*.sf2 /usr/local/share/soundfonts/*.sf2; }
have_cli() { command -v fluidsynth >/dev/null 2>&1; }

if have_lib && have_sf2 && have_cli; then
    exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing libfluidsynth3, fluidsynth and fluid-soundfont-gm with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends libfluidsynth3 fluidsynth fluid-soundfont-gm >/dev/null
    exit 0
fi

case "$(uname -s)" in
    Darwin) cmd="brew install fluid-synth && download FluidR3_GM.sf2 into /opt/homebrew/share/soundfonts/" ;;
    *)
        if command -v apt-get >/dev/null 2>&1; then cmd="sudo apt-get install libfluidsynth3 fluidsynth fluid-soundfont-gm";
        elif command -v dnf >/dev/null 2>&1; then cmd="sudo dnf install fluidsynth fluid-soundfont-gm";
        elif command -v pacman >/dev/null 2>&1; then cmd="sudo pacman -S fluidsynth soundfont-fluid";
        else cmd="install the FluidSynth library and a General MIDI SoundFont (FluidR3_GM.sf2) with your package manager"; fi ;;
esac
echo "setup: FluidSynth or a GM SoundFont is missing and cannot be installed automatically; run: $cmd" >&2
exit 1
