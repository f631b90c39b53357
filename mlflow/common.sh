# shellcheck shell=bash
# Shared by the scripts of this folder (sourced, not run).

# The bin folder of the course environment: the active virtualenv or conda env, else the
# repository's .venv (what `make install` creates).
course_env_bin() {
  local here="$1"
  if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    echo "$VIRTUAL_ENV/bin"
  elif [[ -n "${CONDA_PREFIX:-}" && "${CONDA_DEFAULT_ENV:-base}" != base ]]; then
    echo "$CONDA_PREFIX/bin"
  else
    echo "$(dirname "$here")/.venv/bin"
  fi
}

# A command as one line a student can paste: words quoted only where the shell needs it.
shell_line() {
  local word words=()
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
      words+=("$word")
    else
      words+=("$(printf '%q' "$word")")
    fi
  done
  echo "${words[*]}"
}
