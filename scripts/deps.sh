#!/usr/bin/env bash
# Installs what Chopsticks needs on a Debian machine, and only what is missing.
# usage: scripts/deps.sh sandbox|test|bench
set -euo pipefail

want=(go:golang-go postgres:postgresql redis-server:redis-server espeak-ng:espeak-ng)
case "${1:-test}" in
  sandbox) ;;
  test|bench) want+=(redis-sentinel:redis-sentinel node:nodejs npm:npm chromium:chromium promtool:prometheus pgbench:postgresql systemd-analyze:systemd) ;;
  *) echo "usage: $0 sandbox|test|bench" >&2; exit 2 ;;
esac

have() {
  case "$1" in
    postgres|pgbench)
      command -v "$1" >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/"$1" >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for pair in "${want[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if [ "$cmd" = go ] && command -v go >/dev/null 2>&1; then continue; fi
  have "$cmd" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

readarray -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to install ${missing[*]}: run as root or install sudo" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start their own servers; the project starts its own on
# free ports, so stop these to keep the default ports and memory free.
if command -v service >/dev/null 2>&1; then
  for svc in redis-server redis-sentinel postgresql prometheus; do $sudo service "$svc" stop >/dev/null 2>&1 || true; done
fi
