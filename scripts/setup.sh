#!/usr/bin/env bash
# Installs what beckon needs to build and test, from Debian's packages.
# Installs only what is missing; needs root (or sudo) for that.
# Then scripts/setup-node.sh adds the Node.js example's koffi package from
# npm, where npm's registry is reachable.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  php-cli
  # The PHP package: its tests (php-cgi: a web SAPI for the preload tests;
  # composer: its install test).
  phpunit php-cgi composer
  # The Redis store: the client library, and the server its tests start.
  libhiredis-dev redis-server redis-tools
  # The Python package, its tests and the notebook (Debian's /usr/bin/python3).
  python3 python3-dev python3-pip pybind11-dev python3-numpy python3-pandas
  python3-pytest python3-matplotlib python3-sklearn python3-nbconvert
  python3-nbclient python3-nbformat python3-ipykernel
  # The metrics test reads Engine.metrics_text with a real Prometheus parser.
  python3-prometheus-client
)
# Node.js runs the Node.js example; one installed from elsewhere (with its
# own npm) is used as it is.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exec "$(dirname "$0")/setup-node.sh"  # koffi for the Node.js example
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "setup: need root to run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
exec "$(dirname "$0")/setup-node.sh"  # koffi for the Node.js example
