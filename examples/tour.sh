#!/usr/bin/env bash
# A tour of amictl against the local EC2 sandbox: no AWS account, nothing leaves 127.0.0.1.
# Usage: examples/tour.sh   (after `pip install -e '.[sandbox]'`)
set -uo pipefail

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)
POLICY=$(mktemp)
amictl sandbox --port "$PORT" >"$LOG" 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null; wait $SANDBOX 2>/dev/null; rm -f "$LOG" "$POLICY"' EXIT

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing \
    AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
for _ in $(seq 100); do grep -q "Press Ctrl-C" "$LOG" && break; sleep 0.1; done
grep -q "Press Ctrl-C" "$LOG" || { cat "$LOG"; echo "the sandbox did not start" >&2; exit 1; }

# The demo images, by name (the sandbox gives them fresh IDs every run).
ami() { amictl show --filter "name=$1" -o text | cut -f1; }
PLAIN=$(ami demo-plain)
SHARED=$(ami demo-shared-account)
MARKET=$(ami demo-marketplace)
AWSKEY=$(ami demo-encrypted-aws-key)
CUSTOMER=$(ami demo-encrypted-customer-key)

step() {
    printf '\n\033[1m$ amictl %s\033[0m\n' "$*"
    amictl "$@"
    printf '(exit %s)\n' "$?"
}

step show --all --region us-east-1 --region eu-west-1 -o text
step show "$PLAIN" "$SHARED"
step share "$PLAIN" --account 111122223333,444455556666 --with-snapshots
step share "$PLAIN" --account 111122223333 -o text            # already there: unchanged, no call
step share "$AWSKEY" "$CUSTOMER" --account 111122223333       # refused / shared with a warning
step make-public "$MARKET" "$PLAIN" --yes                     # marketplace image refused
step make-private "$PLAIN"
step unshare "$PLAIN" --all-shares --with-snapshots
step set-description "$PLAIN" "Hardened base image"
step imdsv2 --dry-run -o text                                 # what would change, fleet-wide
step enforce-imdsv2 "$PLAIN" --yes
step reset "$SHARED" --dry-run
step reset "$SHARED" --yes
step show "$PLAIN" -o json

# Policy files: the desired state, in git.
step export --tag Team=base                                   # the current state as a policy
amictl export --all -q >"$POLICY"
step plan "$POLICY" -o text                                   # export, then plan: nothing to do
cat >"$POLICY" <<EOF
[accounts]
prod = "111122223333"

[[image]]
select = { tags = { Team = "base" } }
accounts = ["prod"]
description = "Base image"
snapshots = true
EOF
step plan "$POLICY"                                           # exit 4: changes to make
step apply "$POLICY" --yes -o text
step apply "$POLICY" -o text                                  # nothing to do: no call, no prompt
