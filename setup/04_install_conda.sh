#!/usr/bin/env bash
# Step 4, as your normal user: Miniforge (conda with the conda-forge channel) in your home,
# the course environment from environment.yml, and its Jupyter kernel.
# The installer is only run after its SHA-256 checksum matches.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<EOF
Usage: $0 [--dry-run]

Installs Miniforge into MINIFORGE_DIR, creates (or updates) the conda environment described
by ENV_FILE and registers it as a Jupyter kernel. Run it as your user, not with sudo.

Environment:
  MINIFORGE_DIR          where conda goes (default: ~/miniforge3)
  MINIFORGE_RELEASE_URL  release to download from (default: the latest release,
                         https://github.com/conda-forge/miniforge/releases/latest/download;
                         pin one with .../releases/download/<version>)
  MINIFORGE_SHA256       optional: the installer's expected SHA-256. Without it the script
                         uses the .sha256 file published next to the installer
  ENV_FILE               the environment file (default: environment.yml at the repo root)
  JUPYTER_DATA_DIR       Jupyter's own variable: where the kernel is registered
                         (default: ~/.local/share/jupyter)
  ALLOW_ROOT             set to yes to allow running as root

Options:
  --dry-run   print what would change, change nothing
  -h, --help  show this help
EOF
}

parse_args "$@"
refuse_root

MINIFORGE_DIR=${MINIFORGE_DIR:-$HOME/miniforge3}
MINIFORGE_RELEASE_URL=${MINIFORGE_RELEASE_URL:-https://github.com/conda-forge/miniforge/releases/latest/download}
MINIFORGE_SHA256=${MINIFORGE_SHA256:-}
ENV_FILE=${ENV_FILE:-$SCRIPT_DIR/../environment.yml}

require_command curl "sudo apt-get install curl"
require_command sha256sum "it is part of coreutils"
[[ -z $MINIFORGE_SHA256 || $MINIFORGE_SHA256 =~ ^[0-9a-f]{64}$ ]] ||
  die "MINIFORGE_SHA256 must be 64 lower-case hex digits"
ENV_NAME=$(env_name_from "$ENV_FILE")

conda=$MINIFORGE_DIR/bin/conda
env_dir=$MINIFORGE_DIR/envs/$ENV_NAME
# A copy of environment.yml's checksum inside the env tells a re-run whether the file changed.
env_stamp=$env_dir/.course-environment.sha256
installer_name=Miniforge3-Linux-$(uname -m).sh

# Download, verify, then run the installer in batch mode (-b: no questions, -p: prefix).
install_miniforge() {
  local expected actual
  workdir=$(mktemp -d)
  # Delete the download however the script ends, including a checksum mismatch.
  trap 'rm -rf "$workdir"' EXIT
  curl --fail --silent --show-error --location --retry 3 \
    --output "$workdir/$installer_name" "$MINIFORGE_RELEASE_URL/$installer_name"
  if [[ -n $MINIFORGE_SHA256 ]]; then
    expected=$MINIFORGE_SHA256
  else
    expected=$(curl --fail --silent --show-error --location --retry 3 \
      "$MINIFORGE_RELEASE_URL/$installer_name.sha256" | cut -d' ' -f1)
  fi
  actual=$(sha256sum "$workdir/$installer_name" | cut -d' ' -f1)
  if [[ $actual != "$expected" ]]; then
    die "checksum mismatch for $installer_name: expected '$expected', got '$actual'. Not installing."
  fi
  ok "checksum of $installer_name verified ($actual)"
  bash "$workdir/$installer_name" -b -p "$MINIFORGE_DIR"
}

create_env() {
  "$conda" env create --file "$ENV_FILE" --name "$ENV_NAME"
  sha256sum <"$ENV_FILE" >"$env_stamp"
}

# --prune removes packages that were dropped from environment.yml.
update_env() {
  "$conda" env update --file "$ENV_FILE" --name "$ENV_NAME" --prune
  sha256sum <"$ENV_FILE" >"$env_stamp"
}

# 1. Miniforge itself.
if [[ -x $conda ]]; then
  ok "conda is installed in $MINIFORGE_DIR"
else
  apply "download Miniforge, verify its checksum, install it into $MINIFORGE_DIR" install_miniforge
fi

# 2. `conda activate` in new shells: conda init adds a marked block to ~/.bashrc.
if grep -qF '>>> conda initialize >>>' "$HOME/.bashrc" 2>/dev/null; then
  ok "$HOME/.bashrc already sets up conda"
else
  apply "let new shells use 'conda activate' (edits $HOME/.bashrc)" "$conda" init bash
fi

# 3. The course environment, rebuilt only when environment.yml changed since the last run.
if [[ ! -d $env_dir ]]; then
  apply "create the conda environment '$ENV_NAME' from $ENV_FILE (takes a few minutes)" create_env
elif [[ $(cat "$env_stamp" 2>/dev/null) != "$(sha256sum <"$ENV_FILE")" ]]; then
  apply "update the conda environment '$ENV_NAME' to match $ENV_FILE" update_env
else
  ok "environment '$ENV_NAME' matches $ENV_FILE"
fi

# 4. A kernel entry, so any Jupyter on this account can run notebooks in the course env.
kernel_dir=${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/$ENV_NAME
if [[ -f $kernel_dir/kernel.json ]]; then
  ok "Jupyter kernel '$ENV_NAME' is registered"
else
  apply "register the Jupyter kernel '$ENV_NAME'" "$env_dir/bin/python" -m ipykernel install \
    --user --name "$ENV_NAME" --display-name "Python ($ENV_NAME)"
fi

finish
note "open a new shell (or run: source ~/.bashrc), then: conda activate $ENV_NAME"
