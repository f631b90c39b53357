#!/usr/bin/env bash
# Step 1, as root on the new server: create your everyday account, a normal user who may use
# sudo and logs in with your laptop's SSH key. After step 2 root can no longer log in over SSH,
# so this account must work first.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<EOF
Usage: NEW_USER=student $0 [--dry-run]

Creates NEW_USER with a home directory, adds it to the sudo group, authorises the SSH public
key(s) from PUBKEY_FILE and makes sure the account has a password (sudo asks for it).
Safe to run again: it only changes what is missing.

Environment:
  NEW_USER            required: the login name to create, e.g. student
  PUBKEY_FILE         public key(s) to authorise, one per line
                      (default: /root/.ssh/authorized_keys, where your provider put the key
                      you gave it when you created the server)
  USER_PASSWORD_HASH  optional: the password as a hash, from \`openssl passwd -6\`.
                      If unset and the account has no password yet, the script runs
                      \`passwd\` so you can type one (it needs a terminal).

Options:
  --dry-run   print what would change, change nothing
  -h, --help  show this help
EOF
}

parse_args "$@"
require_root

NEW_USER=${NEW_USER:-}
PUBKEY_FILE=${PUBKEY_FILE:-/root/.ssh/authorized_keys}
USER_PASSWORD_HASH=${USER_PASSWORD_HASH:-}

# Same rule as Debian's adduser: lower-case letters, digits, _ and -, starting with a letter or _.
[[ $NEW_USER =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "set NEW_USER to a valid login name, e.g. NEW_USER=student"
[[ $NEW_USER != root ]] || die "NEW_USER must not be root: the point is a non-root account"
[[ -r $PUBKEY_FILE ]] || die "cannot read PUBKEY_FILE=$PUBKEY_FILE"
if [[ -n $USER_PASSWORD_HASH && $USER_PASSWORD_HASH != \$* ]]; then
  die "USER_PASSWORD_HASH must be a hash such as the output of: openssl passwd -6"
fi
getent group sudo >/dev/null || die "this system has no 'sudo' group; install sudo first"

# The password field of /etc/shadow. A fresh account is locked: its field starts with "!".
password_hash() {
  getent shadow "$NEW_USER" | cut -d: -f2 || true
}
has_password() {
  local hash
  hash=$(password_hash)
  [[ -n $hash && $hash != '!'* && $hash != '*'* ]]
}

# Stop now rather than half-way: without USER_PASSWORD_HASH, `passwd` needs a terminal.
if [[ -z $USER_PASSWORD_HASH && $DRY_RUN == no && ! -t 0 ]] && ! has_password; then
  die "no terminal to type a password for $NEW_USER: set USER_PASSWORD_HASH (see --help)"
fi

# Keep only lines that are plain public keys. Provider files can hold lines with options
# (command="echo Please login as ...") that would break logins if copied; those are skipped.
keys=()
has_ed25519=no
while IFS= read -r line; do
  case $line in
    '' | '#'*) ;;
    ssh-* | ecdsa-* | sk-*)
      ssh-keygen -l -f /dev/stdin <<<"$line" >/dev/null 2>&1 || die "not a valid public key in $PUBKEY_FILE: $line"
      keys+=("$line")
      if [[ $line == "ssh-ed25519 "* ]]; then
        has_ed25519=yes
      fi
      ;;
    *) warn "skipping a key line with options in $PUBKEY_FILE: ${line:0:40}..." ;;
  esac
done <"$PUBKEY_FILE"
[[ ${#keys[@]} -gt 0 ]] || die "no usable public key in $PUBKEY_FILE"
[[ $has_ed25519 == yes ]] || warn "no ed25519 key in $PUBKEY_FILE; the course uses: ssh-keygen -t ed25519"

# "chown user:" (trailing colon) also sets the group to the user's own login group.
make_private_to_user() {
  local path=$1 mode=$2
  chown "$NEW_USER:" "$path"
  chmod "$mode" "$path"
}

create_ssh_dir() {
  mkdir -p "$1"
  make_private_to_user "$1" 700
}

append_keys() {
  local file=$1
  shift
  printf '%s\n' "$@" >>"$file"
  make_private_to_user "$file" 600
}

# chpasswd reads the hash on stdin, so it never shows up in the process list.
set_password_hash() {
  printf '%s:%s\n' "$NEW_USER" "$USER_PASSWORD_HASH" | chpasswd --encrypted
}

# 1. The account, with a home directory and bash.
if id "$NEW_USER" >/dev/null 2>&1; then
  ok "user $NEW_USER exists"
  home=$(getent passwd "$NEW_USER" | cut -d: -f6)
else
  apply "create user $NEW_USER" useradd --create-home --shell /bin/bash "$NEW_USER"
  home=/home/$NEW_USER
fi

# 2. Membership of the sudo group: that is what allows `sudo` on Debian and Ubuntu.
if [[ " $(id -nG "$NEW_USER" 2>/dev/null) " == *" sudo "* ]]; then
  ok "$NEW_USER is in the sudo group"
else
  apply "add $NEW_USER to the sudo group" usermod --append --groups sudo "$NEW_USER"
fi

# 3. ~/.ssh (700) and ~/.ssh/authorized_keys (600), owned by the user: sshd's StrictModes
#    ignores keys that other users could modify.
ssh_dir=$home/.ssh
auth_keys=$ssh_dir/authorized_keys
if [[ -d $ssh_dir && $(stat -c '%a %U' "$ssh_dir") == "700 $NEW_USER" ]]; then
  ok "$ssh_dir exists with mode 700"
else
  apply "create $ssh_dir (mode 700)" create_ssh_dir "$ssh_dir"
fi

missing_keys=()
for key in "${keys[@]}"; do
  if [[ -f $auth_keys ]] && grep -qxF -- "$key" "$auth_keys"; then
    continue
  fi
  missing_keys+=("$key")
done
if [[ ${#missing_keys[@]} -eq 0 ]]; then
  ok "all ${#keys[@]} key(s) from $PUBKEY_FILE are authorised"
else
  apply "authorise ${#missing_keys[@]} key(s) in $auth_keys" append_keys "$auth_keys" "${missing_keys[@]}"
fi
if [[ -f $auth_keys && $(stat -c '%a %U' "$auth_keys") != "600 $NEW_USER" ]]; then
  apply "make $auth_keys private to $NEW_USER (mode 600)" make_private_to_user "$auth_keys" 600
fi

# 4. A password, for sudo only: SSH will not accept passwords after step 2.
if [[ -n $USER_PASSWORD_HASH ]]; then
  if [[ $(password_hash) == "$USER_PASSWORD_HASH" ]]; then
    ok "$NEW_USER has the requested password"
  else
    apply "set the password of $NEW_USER from USER_PASSWORD_HASH" set_password_hash
  fi
elif has_password; then
  ok "$NEW_USER has a password"
else
  apply "choose a password for $NEW_USER (sudo will ask for it)" passwd "$NEW_USER"
fi

finish
note "next: from your laptop, in a NEW terminal, check that 'ssh $NEW_USER@<server>' and 'sudo -v' work."
