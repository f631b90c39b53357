#!/usr/bin/env bash
# Step 3, as root: a firewall that lets in SSH and nothing else.
#   - incoming connections are dropped unless a rule allows them, outgoing ones are allowed;
#   - SSH is allowed with `ufw limit`: an address opening a 6th connection within 30 seconds
#     is refused, which slows down password-guessing bots;
#   - Jupyter (8888), Flask (5000) and MLflow (5001) get NO rule: you reach them through the
#     SSH tunnel (tunnel.sh), so they never face the internet.
#   - With ALLOW_HTTPS=yes (lecture 5, once nginx serves the API over TLS): ports 80 and 443
#     too, for HTTPS, the redirect to it, and Let's Encrypt's certificate checks.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [--dry-run]

Sets ufw to: default deny incoming, allow outgoing, 'limit OpenSSH', enabled.
Warns about any other rule (each one is an open door; see setup/README.md).

Environment:
  UFW_CMD       the ufw program (default: ufw)
  ALLOW_HTTPS   yes: also allow 80/tcp and 443/tcp, for nginx in front of the API
                (lecture 5); no: SSH only (default: no)

Options:
  --dry-run   print what would change, change nothing (it never runs 'ufw --dry-run enable',
              which in ufw 0.36 writes ENABLED=yes to /etc/ufw/ufw.conf anyway)
  -h, --help  show this help
EOF
}

parse_args "$@"
require_root

UFW_CMD=${UFW_CMD:-ufw}
ALLOW_HTTPS=${ALLOW_HTTPS:-no}
[[ $ALLOW_HTTPS == yes || $ALLOW_HTTPS == no ]] || die "ALLOW_HTTPS must be yes or no"
# ufw always reads its default policies from this file.
UFW_DEFAULTS=/etc/default/ufw

# The firewall's rules, in ufw's words: the default for connections in and out, and SSH's rule.
# BEGIN SOLUTION A1.2: deny incoming by default, allow outgoing, and let SSH in rate-limited
INCOMING=deny
OUTGOING=allow
SSH_RULE="limit OpenSSH"
# END SOLUTION

# The web's two ports, for nginx: 443 for HTTPS, 80 for the redirect and Let's Encrypt.
WEB_RULES=("allow 80/tcp" "allow 443/tcp")

require_command "$UFW_CMD" "apt-get install ufw"
[[ -r $UFW_DEFAULTS ]] || die "cannot read $UFW_DEFAULTS"
# The OpenSSH profile (port 22/tcp) ships with openssh-server.
"$UFW_CMD" app info OpenSSH >/dev/null 2>&1 || die "ufw has no OpenSSH profile: apt-get install openssh-server"

# "DROP", "ACCEPT" or "REJECT", as `ufw default ...` writes it into the defaults file.
default_policy() {
  sed -n "s/^DEFAULT_$1_POLICY=\"\\(.*\\)\"/\\1/p" "$UFW_DEFAULTS"
}

# The defaults file's word for a ufw policy: deny -> DROP, allow -> ACCEPT, reject -> REJECT.
policy_word() {
  case "$1" in
    deny) echo DROP ;;
    allow) echo ACCEPT ;;
    reject) echo REJECT ;;
    *) die "unknown ufw policy '$1' (deny, allow or reject)" ;;
  esac
}

# 1. Default policies. Read from the file: `ufw status` only shows them once ufw is enabled.
if [[ $(default_policy INPUT) == "$(policy_word "$INCOMING")" ]]; then
  ok "incoming connections: $INCOMING by default"
else
  apply "$INCOMING incoming connections by default" "$UFW_CMD" default "$INCOMING" incoming
fi
if [[ $(default_policy OUTPUT) == "$(policy_word "$OUTGOING")" ]]; then
  ok "outgoing connections: $OUTGOING by default"
else
  apply "$OUTGOING outgoing connections by default" "$UFW_CMD" default "$OUTGOING" outgoing
fi

# 2. The SSH rule. `ufw show added` lists the rules as commands ("ufw limit OpenSSH") and
#    works while ufw is still disabled. ufw turns an existing 'allow OpenSSH' into the limit.
added_rules=$("$UFW_CMD" show added | sed -n 's/^ufw //p')
if grep -qxF "$SSH_RULE" <<<"$added_rules"; then
  ok "SSH is allowed, rate-limited ($SSH_RULE)"
else
  # shellcheck disable=SC2086 # split "limit OpenSSH" into ufw's two arguments
  apply "allow SSH, rate-limited" "$UFW_CMD" $SSH_RULE
fi

# 3. The web's ports, only when asked for: nginx must be there to answer on them.
expected_rules=("$SSH_RULE")
if [[ $ALLOW_HTTPS == yes ]]; then
  for rule in "${WEB_RULES[@]}"; do
    if grep -qxF "$rule" <<<"$added_rules"; then
      ok "${rule#allow } is allowed (nginx)"
    else
      # shellcheck disable=SC2086 # split "allow 443/tcp" into ufw's two arguments
      apply "allow ${rule#allow } for nginx" "$UFW_CMD" $rule
    fi
  done
  expected_rules+=("${WEB_RULES[@]}")
fi

# Any other rule is a port open to the internet. Not removed automatically, in case you added
# it on purpose, but an 'allow' on port 22 placed before the limit would switch the limit off.
while IFS= read -r rule; do
  [[ -z $rule ]] && continue
  for expected in "${expected_rules[@]}"; do
    [[ $rule == "$expected" ]] && continue 2
  done
  warn "extra rule 'ufw $rule': is that port meant to be public? Remove it with: sudo ufw delete $rule"
done <<<"$added_rules"

# 4. Enable last: enabling before the SSH rule exists would cut you off the server.
#    --force skips the "may disrupt existing ssh connections" question; established
#    connections, like your current session, are kept.
if [[ $("$UFW_CMD" status) == "Status: active"* ]]; then
  ok "ufw is active"
else
  apply "enable ufw (now and at every boot)" "$UFW_CMD" --force enable
fi

finish
if [[ $DRY_RUN == no ]]; then
  "$UFW_CMD" status verbose
fi
