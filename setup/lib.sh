# shellcheck shell=bash
# Helpers shared by the setup scripts. They `source` this file; it is never run on its own.
#
# Every script follows the same pattern, which is what makes a second run change nothing:
#   1. look at the current state (read-only commands only),
#   2. if it already is what we want, print "ok:",
#   3. otherwise hand the command that fixes it to `apply`, which runs it, or with --dry-run
#      only prints it.
# Kept compatible with bash 3.2 because tunnel.sh also runs on macOS laptops.

DRY_RUN=no
CHANGES=0

ok()   { printf 'ok:      %s\n' "$*"; }
note() { printf 'note:    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR:   %s\n' "$*" >&2; exit 1; }

# apply DESCRIPTION COMMAND [ARG...]: make one change, or under --dry-run describe it.
apply() {
  local description=$1
  shift
  CHANGES=$((CHANGES + 1))
  if [[ $DRY_RUN == yes ]]; then
    printf 'would:   %s\n         $' "$description"
    printf ' %q' "$@"
    printf '\n'
  else
    printf 'change:  %s\n' "$description"
    "$@"
  fi
}

# The last line of every run: tests and humans both read it.
finish() {
  if [[ $DRY_RUN == yes ]]; then
    printf 'dry run: %d change(s) would be made; nothing was changed.\n' "$CHANGES"
  elif [[ $CHANGES -eq 0 ]]; then
    printf 'done:    nothing to change, already set up.\n'
  else
    printf 'done:    %d change(s) made.\n' "$CHANGES"
  fi
}

# parse_args "$@": the options every script accepts. Each script defines `usage` first.
parse_args() {
  local arg
  for arg in "$@"; do
    case $arg in
      --dry-run) DRY_RUN=yes ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $arg" ;;
    esac
  done
}

require_root() {
  [[ $EUID -eq 0 ]] || die "run this as root, e.g. sudo $0"
}

# Conda and Jupyter belong to your own account: refuse root unless explicitly allowed
# (a container that only has root, or the test suite).
refuse_root() {
  if [[ $EUID -eq 0 && ${ALLOW_ROOT:-no} != yes ]]; then
    die "run this as your normal user, not root (or set ALLOW_ROOT=yes if root is all you have)"
  fi
}

require_command() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed: $2"
}

# The environment name from environment.yml's top-level `name:` line.
env_name_from() {
  local env_file=$1 name
  [[ -r $env_file ]] || die "cannot read $env_file (set ENV_FILE)"
  name=$(sed -n '/^name:/{s/^name:[[:space:]]*//;p;q;}' "$env_file" | tr -d "\"' ")
  [[ -n $name ]] || die "$env_file has no top-level 'name:' line"
  printf '%s\n' "$name"
}
