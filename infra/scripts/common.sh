# Shared shell pieces of the project's commands. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/infra/python/requirements.txt"
STATE_DIR="$ROOT/.local"
mkdir -p "$STATE_DIR"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# Creates .venv and installs the pinned Python tools (moto, wechatpy, cfn-lint) when the
# requirements changed since the last install.
ensure_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  log "installing Python tools into .venv (moto, wechatpy, cfn-lint)"
  command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" >"$stamp"
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until http://127.0.0.1:$1$2 answers (any status), or fails after $3 seconds.
wait_http() {
  local port="$1" path="$2" seconds="${3:-30}" i
  for ((i = 0; i < seconds * 10; i++)); do
    if "$VENV/bin/python" - "$port" "$path" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=1)
except urllib.error.HTTPError:
    pass
PY
    sleep 0.1
  done
  echo "nothing answered on port $port within ${seconds}s" >&2
  return 1
}

# Starts moto server on port $1 in the background; its pid goes to MOTO_PID. Logs go to
# .local/moto.log.
start_moto() {
  local port="$1"
  log "starting moto (DynamoDB, SQS, S3) on 127.0.0.1:$port"
  # Our launcher: moto with DynamoDB requests serialised (see the script for why).
  "$VENV/bin/python" "$ROOT/infra/python/moto_server.py" -H 127.0.0.1 -p "$port" >"$STATE_DIR/moto.log" 2>&1 &
  MOTO_PID=$!
  wait_http "$port" "/moto-api/" 60
}

# Fake credentials for moto; never real ones.
export_moto_env() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# Builds the admin console (functions/admin-api/console) into its dist/, which admin-api
# embeds; `npm install` runs only when package-lock.json changed since the last install.
build_console() {
  local dir="$ROOT/functions/admin-api/console" stamp want
  command -v npm >/dev/null || { echo "npm (Node 20+) is required to build the admin console" >&2; exit 1; }
  stamp="$dir/node_modules/.package-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "installing the admin console's npm packages (npm install, from the committed lock)"
    # Not `npm ci`: npm 11 here writes locks without the other platforms' optional rollup
    # packages and then `npm ci` refuses its own lock as "out of sync". `npm install` installs
    # the locked versions and leaves the lock as committed.
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
  log "building the admin console (vite)"
  (cd "$dir" && npm run --silent build -- --logLevel warn)
}

# The cargo target directory (CARGO_TARGET_DIR or ./target).
target_dir() {
  echo "${CARGO_TARGET_DIR:-$ROOT/target}"
}
