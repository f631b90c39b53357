#!/usr/bin/env bash
# On your LAPTOP: open an SSH tunnel to the course VPS, so that http://localhost:8888 on the
# laptop is JupyterLab on the server's 127.0.0.1:8888 (likewise Flask on 5000, MLflow on 5001).
# The traffic travels inside your SSH connection; the server opens no extra port.
# Leave it running while you work; stop it with Ctrl-C.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<EOF
Usage: VPS_HOST=203.0.113.10 VPS_USER=student $0 [--dry-run]

Runs: ssh -N -L 127.0.0.1:8888:127.0.0.1:8888 -L ...5000... -L ...5001... VPS_USER@VPS_HOST

Environment:
  VPS_HOST         required: the server's address, or a Host alias from ~/.ssh/config
  VPS_USER         login name on the server (default: the alias's User, or your local name)
  VPS_SSH_PORT     SSH port on the server (default: the alias's Port, or 22)
  SSH_KEY          private key to use, e.g. ~/.ssh/id_ed25519 (default: ssh's choice)
  SSH_CONFIG_FILE  an ssh config file to use instead of ~/.ssh/config
  TUNNEL_PORTS     ports to forward, "PORT" or "LAPTOP_PORT:SERVER_PORT"
                   (default: "8888 5000 5001"; on macOS, where AirPlay holds 5000,
                   use e.g. "8888 5050:5000 5001" and open localhost:5050)

Options:
  --dry-run   print the ssh command, do not run it
  -h, --help  show this help
EOF
}

parse_args "$@"

VPS_HOST=${VPS_HOST:-}
VPS_USER=${VPS_USER:-}
VPS_SSH_PORT=${VPS_SSH_PORT:-}
SSH_KEY=${SSH_KEY:-}
SSH_CONFIG_FILE=${SSH_CONFIG_FILE:-}
TUNNEL_PORTS=${TUNNEL_PORTS:-8888 5000 5001}

[[ -n $VPS_HOST ]] || die "set VPS_HOST to your server's address, e.g. VPS_HOST=203.0.113.10 $0"

is_port() {
  [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}
if [[ -n $VPS_SSH_PORT ]] && ! is_port "$VPS_SSH_PORT"; then
  die "VPS_SSH_PORT=$VPS_SSH_PORT is not a port number"
fi
if [[ -n $SSH_KEY && ! -r $SSH_KEY ]]; then
  die "cannot read SSH_KEY=$SSH_KEY"
fi
if [[ -n $SSH_CONFIG_FILE && ! -r $SSH_CONFIG_FILE ]]; then
  die "cannot read SSH_CONFIG_FILE=$SSH_CONFIG_FILE"
fi

# -N: no remote command, only forwarding.
# ExitOnForwardFailure: if a laptop port is taken ("Address already in use"), stop with an
#   error instead of staying connected with that forward silently missing.
# ServerAlive*: notice a dead connection within about 90 s instead of hanging.
cmd=(ssh -N -o ExitOnForwardFailure=yes -o ServerAliveInterval=30 -o ServerAliveCountMax=3)
if [[ -n $VPS_SSH_PORT ]]; then
  cmd+=(-p "$VPS_SSH_PORT")
fi
if [[ -n $SSH_CONFIG_FILE ]]; then
  cmd+=(-F "$SSH_CONFIG_FILE")
fi
if [[ -n $SSH_KEY ]]; then
  # IdentitiesOnly: offer only this key. An agent offering many keys can exhaust the
  # server's MaxAuthTries (3) before the right one: "Too many authentication failures".
  cmd+=(-i "$SSH_KEY" -o IdentitiesOnly=yes)
fi

for spec in $TUNNEL_PORTS; do
  local_port=${spec%%:*}
  remote_port=${spec##*:}
  if ! is_port "$local_port" || ! is_port "$remote_port"; then
    die "bad entry '$spec' in TUNNEL_PORTS: use PORT or LAPTOP_PORT:SERVER_PORT"
  fi
  # Both ends on 127.0.0.1: other machines on your Wi-Fi cannot use the laptop's end,
  # and on the server the services listen on loopback only.
  cmd+=(-L "127.0.0.1:$local_port:127.0.0.1:$remote_port")
  note "http://localhost:$local_port on this laptop -> port $remote_port on the server"
done

if [[ -n $VPS_USER ]]; then
  cmd+=("$VPS_USER@$VPS_HOST")
else
  cmd+=("$VPS_HOST")
fi

if [[ $DRY_RUN == yes ]]; then
  printf 'would run:'
  printf ' %q' "${cmd[@]}"
  printf '\n'
  exit 0
fi
note "tunnel open while this runs; stop it with Ctrl-C"
exec "${cmd[@]}"
