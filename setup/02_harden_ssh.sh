#!/usr/bin/env bash
# Step 2, as root: key-only SSH, no root login. Installs sshd_config.d/10-course-hardening.conf,
# then reloads sshd only if four checks pass, so a mistake cannot lock you out:
#   1. LOGIN_USER (not root) has an authorized key, so someone can still log in afterwards;
#   2. `sshd -t` accepts the whole configuration (a typo anywhere, or an algorithm name this
#      sshd does not know, would stop sshd on reload);
#   3. `sshd -T` shows every setting of the drop-in in effect (sshd keeps the first value it
#      reads, so another file read earlier can silently win);
#   4. sshd has an ed25519 host key, the only kind the drop-in lets it offer.
# If check 2, 3 or 4 fails, the previous drop-in is put back and nothing is reloaded.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

DROPIN_NAME=10-course-hardening.conf

usage() {
  cat <<EOF
Usage: sudo $0 [--dry-run]        (or as root: LOGIN_USER=student $0)

Installs $DROPIN_NAME into the sshd drop-in directory, validates, reloads sshd.
Keep your current SSH session open until a NEW session as LOGIN_USER works.

Environment:
  LOGIN_USER       the account you will log in with afterwards; must have an authorized key
                   (default: \$SUDO_USER, the user who ran sudo)
  SSHD_BIN         sshd program, absolute path (default: /usr/sbin/sshd)
  SSHD_CONFIG      main sshd config (default: /etc/ssh/sshd_config)
  SSHD_CONFIG_DIR  drop-in directory Included by SSHD_CONFIG (default: /etc/ssh/sshd_config.d)
  SSHD_RELOAD_CMD  command that makes sshd re-read its config
                   (default: systemctl reload ssh)

Options:
  --dry-run   print what would change, change nothing
  -h, --help  show this help
EOF
}

parse_args "$@"
require_root

LOGIN_USER=${LOGIN_USER:-${SUDO_USER:-}}
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SSHD_CONFIG=${SSHD_CONFIG:-/etc/ssh/sshd_config}
SSHD_CONFIG_DIR=${SSHD_CONFIG_DIR:-/etc/ssh/sshd_config.d}
SSHD_RELOAD_CMD=${SSHD_RELOAD_CMD:-systemctl reload ssh}

source_file=$SCRIPT_DIR/sshd_config.d/$DROPIN_NAME
target_file=$SSHD_CONFIG_DIR/$DROPIN_NAME

# sshd re-executes itself on reload, so it must be called by its absolute path.
[[ $SSHD_BIN == /* && -x $SSHD_BIN ]] || die "SSHD_BIN=$SSHD_BIN is not an absolute path to sshd"
[[ -r $SSHD_CONFIG ]] || die "cannot read SSHD_CONFIG=$SSHD_CONFIG"
[[ -d $SSHD_CONFIG_DIR ]] || die "SSHD_CONFIG_DIR=$SSHD_CONFIG_DIR is not a directory"
require_command ssh-keygen "apt-get install openssh-client"

# Check 1: after this script root cannot log in and passwords are refused, so another account
# must already have a key.
[[ -n $LOGIN_USER ]] || die "set LOGIN_USER to the account you will log in with (see 01_create_user.sh)"
[[ $LOGIN_USER != root ]] || die "LOGIN_USER must not be root: root logins are about to be refused"
login_home=$(getent passwd "$LOGIN_USER" | cut -d: -f6) || die "user $LOGIN_USER does not exist: run 01_create_user.sh"
[[ -s $login_home/.ssh/authorized_keys ]] ||
  die "$LOGIN_USER has no $login_home/.ssh/authorized_keys: run 01_create_user.sh first"
ok "$LOGIN_USER has an authorized key"

# The settings the drop-in asks for, as `sshd -T` prints them: "keyword value", lower case.
expected_settings() {
  grep -Ev '^[[:space:]]*(#|$)' "$source_file" | tr '[:upper:]' '[:lower:]' | tr -s ' \t' ' '
}

# Prints the expected settings that are not in effect; prints nothing when all are.
settings_not_in_effect() {
  local effective
  effective=$("$SSHD_BIN" -T -f "$SSHD_CONFIG")
  expected_settings | grep -vxF -f <(printf '%s\n' "$effective") || true
}

# Where each mismatching keyword is set, to point the student at the file that wins.
explain_mismatch() {
  local setting keyword
  while IFS= read -r setting; do
    keyword=${setting%% *}
    warn "expected '$setting', sshd uses '$("$SSHD_BIN" -T -f "$SSHD_CONFIG" | grep -i "^$keyword ")'"
    grep -rin "^[[:space:]]*${keyword}[[:space:]]" "$SSHD_CONFIG" "$SSHD_CONFIG_DIR" >&2 || true
  done
}

# True if one of the host keys sshd loads is an ed25519 key.
has_ed25519_host_key() {
  local key_file
  while IFS= read -r key_file; do
    # `ssh-keygen -l` prints e.g. "256 SHA256:... root@server (ED25519)".
    if [[ $(ssh-keygen -l -f "$key_file" 2>/dev/null) == *"(ED25519)" ]]; then
      return 0
    fi
  done < <("$SSHD_BIN" -T -f "$SSHD_CONFIG" | sed -n 's/^hostkey //p')
  return 1
}

backup_file=$(mktemp)
trap 'rm -f "$backup_file"' EXIT
had_previous=no
if [[ -f $target_file ]]; then
  cp -p "$target_file" "$backup_file"
  had_previous=yes
fi

restore_previous() {
  if [[ $had_previous == yes ]]; then
    cp -p "$backup_file" "$target_file"
  else
    rm -f "$target_file"
  fi
  warn "put back the previous state of $target_file; sshd was NOT reloaded"
}

if cmp -s "$source_file" "$target_file"; then
  ok "$target_file is up to date"
else
  apply "install $target_file" install -m 644 "$source_file" "$target_file"
fi

if [[ $DRY_RUN == yes ]]; then
  if [[ $CHANGES -gt 0 ]]; then
    note "a real run checks with 'sshd -t', 'sshd -T' and the host keys, then reloads sshd"
  fi
  finish
  exit 0
fi

# Check 2: the whole configuration parses.
if ! "$SSHD_BIN" -t -f "$SSHD_CONFIG"; then
  if [[ $CHANGES -gt 0 ]]; then
    restore_previous
  fi
  die "'sshd -t' rejected the configuration (see the message above); fix it before reloading"
fi
ok "sshd -t accepts the configuration"

# Check 3: every setting of the drop-in is the one sshd will use.
mismatches=$(settings_not_in_effect)
if [[ -n $mismatches ]]; then
  explain_mismatch <<<"$mismatches"
  if [[ $CHANGES -gt 0 ]]; then
    restore_previous
  fi
  die "another file sets these first (see above); is $SSHD_CONFIG_DIR Included at the top of $SSHD_CONFIG?"
fi
ok "sshd -T shows all $(expected_settings | wc -l) hardening settings in effect"

# Check 4: HostKeyAlgorithms offers ed25519 only; without such a key no client could connect.
if ! has_ed25519_host_key; then
  if [[ $CHANGES -gt 0 ]]; then
    restore_previous
  fi
  die "sshd has no ed25519 host key; create one with: ssh-keygen -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key"
fi
ok "sshd has an ed25519 host key"

# Reload only when something changed. Existing sessions survive a reload.
if [[ $CHANGES -gt 0 ]]; then
  apply "reload sshd" bash -c "$SSHD_RELOAD_CMD"
fi

finish
note "keep this session open; in a NEW terminal check 'ssh $LOGIN_USER@<server>' before you log out."
