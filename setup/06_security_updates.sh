#!/usr/bin/env bash
# Step 6, as root (sudo): security updates that install themselves. Every day apt refreshes its
# package lists and unattended-upgrades installs the updates your distribution publishes (Debian:
# security and point-release fixes; Ubuntu: security fixes). A server nobody updates keeps every
# hole that is found after you set it up.
# Reboots stay yours unless AUTO_REBOOT=yes: a new kernel or C library only takes effect after
# one, and the system then creates /run/reboot-required.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [--dry-run]

Installs unattended-upgrades and turns it on by writing two files to /etc/apt/apt.conf.d/:
20auto-upgrades (update every day) and 52unattended-upgrades-course (the reboot policy).
Then checks with apt-config that no other file switches them off again.

Environment:
  AUTO_REBOOT       yes: reboot by itself, at AUTO_REBOOT_TIME, after an update that needs it;
                    no: you decide when to reboot (default: no)
  AUTO_REBOOT_TIME  the time of day for those reboots, HH:MM, server time (default: 04:00)
  TARGET_ROOT       write the configuration under this directory instead of / (a mounted disk
                    image, or a test's temporary directory). Packages are only installed, and
                    root is only required, when it is / (default: /)

Options:
  --dry-run   print what would change, change nothing
  -h, --help  show this help
EOF
}

parse_args "$@"

AUTO_REBOOT=${AUTO_REBOOT:-no}
AUTO_REBOOT_TIME=${AUTO_REBOOT_TIME:-04:00}
TARGET_ROOT=${TARGET_ROOT:-/}

[[ $AUTO_REBOOT == yes || $AUTO_REBOOT == no ]] ||
  die "AUTO_REBOOT must be yes or no, not '$AUTO_REBOOT'"
[[ $AUTO_REBOOT_TIME =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] ||
  die "AUTO_REBOOT_TIME must be a time of day as HH:MM, e.g. 04:00"
[[ -d $TARGET_ROOT ]] || die "TARGET_ROOT=$TARGET_ROOT is not a directory"
if [[ $TARGET_ROOT == / ]]; then
  require_root
fi
require_command apt-config "this script is for Debian and Ubuntu, which manage packages with apt"

root=${TARGET_ROOT%/} # "" for /, so "$root/etc" is /etc
apt_conf_dir=$root/etc/apt/apt.conf.d

# The two lines Debian's own `dpkg-reconfigure unattended-upgrades` writes, byte for byte: the
# package then never asks whether to keep "your" version of its file.
auto_upgrades_config() {
  printf '%s\n' \
    'APT::Periodic::Update-Package-Lists "1";' \
    'APT::Periodic::Unattended-Upgrade "1";'
}

# The package's defaults live in 50unattended-upgrades; we leave that file alone, so that
# updates of the package replace it cleanly, and override it from a file read after it.
reboot_config() {
  local reboot=false
  if [[ $AUTO_REBOOT == yes ]]; then
    reboot=true
  fi
  printf '%s\n' \
    '// Written by setup/06_security_updates.sh: rerun it with AUTO_REBOOT=yes|no to change.' \
    "Unattended-Upgrade::Automatic-Reboot \"$reboot\";" \
    "Unattended-Upgrade::Automatic-Reboot-Time \"$AUTO_REBOOT_TIME\";"
}

# write_config FILE FUNCTION: FILE gets exactly what FUNCTION prints, readable by all.
write_config() {
  mkdir -p "$(dirname "$1")"
  "$2" >"$1"
  chmod 644 "$1"
}

# dpkg's own record of the package on the running system: "installed" once it is.
package_installed() {
  # shellcheck disable=SC2016 # ${db:Status-Status} is dpkg-query's format, not a bash variable
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

install_package() {
  apt-get update -qq
  apt-get install -y -qq "$1"
}

# ensure_config NAME FUNCTION: apt.conf.d/NAME holds exactly what FUNCTION prints.
ensure_config() {
  local file=$apt_conf_dir/$1 content=$2
  if [[ -f $file ]] && cmp -s <("$content") "$file"; then
    ok "$file is up to date"
  else
    apply "write $file" write_config "$file" "$content"
  fi
}

# apt-config as the packages will see it. APT_CONFIG names a file apt reads before anything
# else; setting Dir there makes apt read TARGET_ROOT's configuration instead of this machine's.
effective_apt_config() {
  local pointer status=0
  if [[ -z $root ]]; then
    apt-config dump
    return
  fi
  pointer=$(mktemp)
  printf 'Dir "%s/";\n' "$root" >"$pointer"
  APT_CONFIG=$pointer apt-config dump || status=$?
  rm -f "$pointer"
  return "$status"
}

# The settings of both files, without comments, written the way `apt-config dump` prints them.
expected_settings() {
  { auto_upgrades_config && reboot_config; } | grep -v '^//'
}

# 1. The package, on the running system only.
if [[ -n $root ]]; then
  note "TARGET_ROOT=$TARGET_ROOT: not installing packages there, only the configuration"
elif package_installed unattended-upgrades; then
  ok "unattended-upgrades is installed"
else
  apply "install unattended-upgrades" install_package unattended-upgrades
fi

# 2. The two configuration files.
ensure_config 20auto-upgrades auto_upgrades_config
ensure_config 52unattended-upgrades-course reboot_config

if [[ $DRY_RUN == yes ]]; then
  finish
  exit 0
fi

# 3. Check what apt will really use. apt reads apt.conf.d in name order and, unlike sshd, the
#    LAST value wins: a file such as 99-no-updates can silently switch everything off again.
effective=$(effective_apt_config) || die "apt-config cannot read the configuration in $apt_conf_dir"
missing=$(expected_settings | grep -vxF -f <(printf '%s\n' "$effective") || true)
if [[ -n $missing ]]; then
  while IFS= read -r setting; do
    warn "apt does not use '$setting'; the files that set ${setting%% *}:"
    grep -rnF -- "${setting%% *}" "$apt_conf_dir" >&2 || true
  done <<<"$missing"
  die "a file read after ours overrides these settings (see above); remove those lines"
fi
ok "apt-config shows daily updates, and automatic reboots: $AUTO_REBOOT"

# 4. On the running system: the timer that starts it all, and a reboot that is still pending.
if [[ -z $root && -d /run/systemd/system ]] &&
  [[ $(systemctl is-enabled apt-daily-upgrade.timer 2>/dev/null) != enabled ]]; then
  warn "apt-daily-upgrade.timer is not enabled, so nothing runs: sudo systemctl enable --now apt-daily-upgrade.timer"
fi
if [[ -f $root/run/reboot-required ]]; then
  warn "an update waits for a reboot (the packages: $root/run/reboot-required.pkgs): sudo reboot"
fi

finish
note "what was upgraded, and when: less /var/log/unattended-upgrades/unattended-upgrades.log"
