#!/usr/bin/env bash
# `make build-lambdas`: the Lambda artifacts (bootstrap.zip per function: the five function
# crates and the admin-api crate's export worker), built with
# cargo-lambda in release mode, and each zip's size.
#
# Installs cargo-lambda and zig from PyPI into .venv (infra/python/build-requirements.txt).
# Architecture: LAMBDA_ARCH=arm64|x86_64. Unset: arm64 when a rustc >= 1.94.1 has the
# aarch64-unknown-linux-gnu standard library: rustup's (`rustup target add ...`), or else
# Debian's rustc-web + libstd-rust-web-dev:arm64, which this script installs when run as root
# on Debian (LAMBDA_INSTALL_STD=0 skips that). Otherwise x86_64 with a notice; deploy those
# with `--parameter-overrides Architecture=x86_64`.
# Output: dist/lambda/<arch>/<function>/bootstrap.zip (and the bootstrap binary beside it).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

FUNCTIONS=(wechat-callback admin-api qr-generator push-worker follower-sync)
# Every Lambda's binary: the five crates, and the admin-api crate's export worker.
ARTIFACTS=("${FUNCTIONS[@]}" export-worker)
BUILD_REQUIREMENTS="$ROOT/infra/python/build-requirements.txt"

ensure_venv
stamp="$VENV/.build-requirements.sha256"
want="$(sha256sum "$BUILD_REQUIREMENTS" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -x "$VENV/bin/cargo-lambda" ]]; then
  log "installing cargo-lambda and zig into .venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$BUILD_REQUIREMENTS"
  echo "$want" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"

# The AWS SDK needs rustc >= 1.94.1 (its rust-version).
MIN_RUSTC=1.94.1

# Prints a rustc that has the standard library for target $1: rustup's, else Debian's
# rustc-web (/usr/bin/rustc with /usr/lib/rustlib/<target>); nothing if neither has it.
rustc_for() {
  if [[ -d "$(rustc --print sysroot)/lib/rustlib/$1/lib" ]]; then
    command -v rustc
  elif [[ -x /usr/bin/rustc && -d "/usr/lib/rustlib/$1/lib" ]] && version_ok /usr/bin/rustc; then
    echo /usr/bin/rustc
  fi
}

version_ok() {
  local v
  v="$("$1" --version | awk '{print $2}')"
  [[ "$(printf '%s\n%s\n' "$MIN_RUSTC" "$v" | sort -V | head -1)" == "$MIN_RUSTC" ]]
}

# Where rustup cannot add targets (offline mirrors), Debian ships the same compiler with an
# arm64 standard library: rustc-web + libstd-rust-web-dev:arm64 (1.96 in bookworm-security).
install_debian_arm64_std() {
  [[ "${LAMBDA_INSTALL_STD:-1}" == 1 && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null || return 0
  log "installing Debian's rustc-web with the arm64 standard library (LAMBDA_INSTALL_STD=0 skips)"
  dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    rustc-web libstd-rust-web-dev:arm64 >/dev/null || log "could not install them"
}

arch="${LAMBDA_ARCH:-}"
if [[ -z "$arch" || "$arch" == arm64 ]] && [[ -z "$(rustc_for aarch64-unknown-linux-gnu)" ]]; then
  install_debian_arm64_std
fi
if [[ -z "$arch" ]]; then
  if [[ -n "$(rustc_for aarch64-unknown-linux-gnu)" ]]; then
    arch=arm64
  else
    arch=x86_64
    log "NOTICE: no rustc >= $MIN_RUSTC with the aarch64-unknown-linux-gnu standard library"
    log "        (rustup target add aarch64-unknown-linux-gnu), so the zips are x86_64."
    log "        Deploy them with: sam deploy --parameter-overrides Architecture=x86_64"
  fi
fi
case "$arch" in
  arm64) target=aarch64-unknown-linux-gnu ;;
  x86_64) target=x86_64-unknown-linux-gnu ;;
  *) echo "LAMBDA_ARCH must be arm64 or x86_64, not '$arch'" >&2; exit 2 ;;
esac
RUSTC="$(rustc_for "$target")"
[[ -n "$RUSTC" ]] || { echo "no rustc >= $MIN_RUSTC with the standard library for $target: rustup target add $target" >&2; exit 1; }
export RUSTC
log "compiler: $("$RUSTC" --version) for $target"

out="$ROOT/dist/lambda/$arch"
packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done

log "cargo lambda build --release ($arch, $target)"
# cargo-lambda's release settings: panic=abort (as in the workspace's [profile.release]) and
# a target CPU every Lambda host of the architecture has (haswell / neoverse-n1).
cargo lambda build --release --target "$target" --skip-target-check --output-format zip --lambda-dir "$out" "${packages[@]}"

# The zip holds the binary; keep an unzipped copy for the cold-start benchmark.
printf '\n%-16s %12s %12s\n' function "zip bytes" "binary bytes"
for f in "${ARTIFACTS[@]}"; do
  zip="$out/$f/bootstrap.zip"
  [[ -f "$zip" ]] || { echo "missing $zip" >&2; exit 1; }
  "$VENV/bin/python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' "$zip" "$out/$f"
  chmod +x "$out/$f/bootstrap"
  printf '%-16s %12s %12s\n' "$f" "$(stat -c %s "$zip")" "$(stat -c %s "$out/$f/bootstrap")"
done
echo "artifacts: $out/<function>/bootstrap.zip ($arch)"
