#!/usr/bin/env bash
# Step 5, as your normal user: JupyterLab on 127.0.0.1:8888 with a fixed token, kept running
# by a systemd user unit. You open it from your laptop through tunnel.sh.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

UNIT=jupyter-course.service

usage() {
  cat <<EOF
Usage: $0 [--dry-run]

Installs jupyter/jupyter_server_config.py and a private token into JUPYTER_CONFIG_DIR, the
systemd user unit $UNIT, and starts it. Run it as your user, after 04_install_conda.sh.

Environment:
  JUPYTER_BIN         jupyter program to run (default: the one in the course environment,
                      MINIFORGE_DIR/envs/<name from ENV_FILE>/bin/jupyter)
  MINIFORGE_DIR       as in 04_install_conda.sh (default: ~/miniforge3)
  ENV_FILE            as in 04_install_conda.sh (default: environment.yml at the repo root)
  JUPYTER_CONFIG_DIR  where Jupyter reads its config (default: ~/.jupyter)
  SYSTEMD_USER_DIR    where the unit goes (default: ~/.config/systemd/user)
  START_SERVICE       yes: enable and (re)start the unit; no: only install the files
                      (default: yes)
  ALLOW_ROOT          set to yes to allow running as root (Jupyter then needs --allow-root)

Options:
  --dry-run   print what would change, change nothing
  -h, --help  show this help
EOF
}

parse_args "$@"
refuse_root

if [[ -z ${JUPYTER_BIN:-} ]]; then
  MINIFORGE_DIR=${MINIFORGE_DIR:-$HOME/miniforge3}
  ENV_FILE=${ENV_FILE:-$SCRIPT_DIR/../environment.yml}
  JUPYTER_BIN=$MINIFORGE_DIR/envs/$(env_name_from "$ENV_FILE")/bin/jupyter
fi
JUPYTER_CONFIG_DIR=${JUPYTER_CONFIG_DIR:-$HOME/.jupyter}
SYSTEMD_USER_DIR=${SYSTEMD_USER_DIR:-$HOME/.config/systemd/user}
START_SERVICE=${START_SERVICE:-yes}

[[ -x $JUPYTER_BIN ]] || die "no jupyter at $JUPYTER_BIN: run 04_install_conda.sh first (or set JUPYTER_BIN)"
[[ $START_SERVICE == yes || $START_SERVICE == no ]] || die "START_SERVICE must be yes or no"

config_source=$SCRIPT_DIR/jupyter/jupyter_server_config.py
config_file=$JUPYTER_CONFIG_DIR/jupyter_server_config.py
token_file=$JUPYTER_CONFIG_DIR/course_token
unit_file=$SYSTEMD_USER_DIR/$UNIT

rendered_unit=$(mktemp)
trap 'rm -f "$rendered_unit"' EXIT
sed -e "s|@JUPYTER_BIN@|$JUPYTER_BIN|" -e "s|@JUPYTER_CONFIG_DIR@|$JUPYTER_CONFIG_DIR|" \
  "$SCRIPT_DIR/jupyter/$UNIT" >"$rendered_unit"

# 48 random hex characters. od reads exactly 24 bytes, so no pipe is cut short (which
# `set -o pipefail` would treat as an error). umask 077: only you can read the token.
create_token() {
  (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$token_file")
}

# 1. The config directory and the token. Anyone with the token can run code as you.
if [[ -d $JUPYTER_CONFIG_DIR ]]; then
  ok "$JUPYTER_CONFIG_DIR exists"
else
  apply "create $JUPYTER_CONFIG_DIR (mode 700)" mkdir -m 700 -p "$JUPYTER_CONFIG_DIR"
fi
if [[ -s $token_file ]]; then
  ok "token file $token_file exists"
else
  apply "create a random token in $token_file (mode 600)" create_token
fi

# 2. The config and the unit; remember whether a running Jupyter must be restarted.
files_changed=no
if cmp -s "$config_source" "$config_file"; then
  ok "$config_file is up to date"
else
  apply "install $config_file" install -m 600 "$config_source" "$config_file"
  files_changed=yes
fi
if cmp -s "$rendered_unit" "$unit_file"; then
  ok "$unit_file is up to date"
else
  apply "install the systemd user unit $unit_file" install -D -m 644 "$rendered_unit" "$unit_file"
  files_changed=yes
fi

# 3. Run it. "Linger" starts your user services at boot and keeps them after you log out;
#    turning it on for yourself needs sudo.
if [[ $START_SERVICE == yes ]]; then
  require_command systemctl "this step needs systemd; use START_SERVICE=no and tmux instead"
  me=$(id -un)
  # `systemctl --user` talks to your own systemd, which exists in an SSH login session but
  # not after `su` or `sudo -u` (no XDG_RUNTIME_DIR).
  systemctl --user show-environment >/dev/null 2>&1 ||
    die "cannot reach your systemd user manager: log in over SSH as $me, or use START_SERVICE=no and tmux"
  if [[ $(loginctl show-user "$me" --property=Linger --value 2>/dev/null) == yes ]]; then
    ok "lingering is on for $me"
  else
    apply "keep $me's services running after logout and start them at boot" sudo loginctl enable-linger "$me"
  fi
  if [[ $files_changed == yes ]]; then
    apply "make systemd re-read your units" systemctl --user daemon-reload
  fi
  if ! systemctl --user is-enabled --quiet "$UNIT"; then
    apply "start JupyterLab now and at every boot" systemctl --user enable --now "$UNIT"
  elif [[ $files_changed == yes ]]; then
    apply "restart JupyterLab to load the new files" systemctl --user restart "$UNIT"
  elif ! systemctl --user is-active --quiet "$UNIT"; then
    apply "start JupyterLab" systemctl --user start "$UNIT"
  else
    ok "JupyterLab is running"
  fi
fi

finish
if [[ $START_SERVICE == no ]]; then
  note "to run Jupyter without systemd, in tmux: tmux new-session -d -s jupyter $JUPYTER_BIN lab"
fi
if [[ -s $token_file ]]; then
  note "on your laptop run setup/tunnel.sh, then open http://localhost:8888/lab?token=$(cat "$token_file")"
fi
