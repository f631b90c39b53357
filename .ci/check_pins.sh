#!/usr/bin/env bash
# Does every pin of requirements*.txt, torch aside, resolve on Python 3.12 and 3.13 too?
# Asks PyPI (pip install --dry-run): slow and online, so `make check-pins` runs it, not `make test`.
# torch is left out because its CPU wheels are per Python version and only 3.11's is on our disk.
# Each Python is `python3.X` from PATH, or pyenv's newest 3.X when only pyenv has it.
set -euo pipefail
cd "$(dirname "$0")/.."

pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
grep -hv '^torch==\|^-r' requirements.txt requirements-dev.txt > "$pins"

for version in 3.12 3.13; do
  python=(python"$version")
  if ! "${python[@]}" -V >/dev/null 2>&1 && command -v pyenv >/dev/null; then
    newest=$(pyenv versions --bare | grep "^$version\." | sort -V | tail -n 1 || true)
    python=(env PYENV_VERSION="$newest" python"$version")
  fi
  if ! "${python[@]}" -V >/dev/null 2>&1; then
    echo "error: no Python $version here: install it, or use pyenv" >&2
    exit 1
  fi
  "${python[@]}" -m pip install --dry-run --quiet --ignore-installed -r "$pins"
  echo "Python $("${python[@]}" -V 2>&1 | cut -d' ' -f2): every pin but torch resolves"
done
