#!/usr/bin/env bash
# make bench: every benchmark, each printing its figures beside its named
# baseline measured in the same run. Long; not part of make test.
# usage: scripts/bench.sh [economy|ratelimit|voice|cluster|discordsim ...]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
all=(discordsim economy ratelimit voice cluster)
[ $# -gt 0 ] && all=("$@")
for b in "${all[@]}"; do
  echo "=== bench: $b"
  case "$b" in
    discordsim)
      go test -run '^$' -bench 'Dispatch10k' -benchmem -benchtime 3x ./discordsim/ ;;
    economy|ratelimit|voice|cluster)
      if [ ! -d "bench/$b" ]; then echo "bench/$b is missing" >&2; exit 1; fi
      go build -o "bin/bench-$b" "./bench/$b"
      if [ "$b" = cluster ]; then CHOPSTICKS_BIN="$PWD/bin/chopsticks" "bin/bench-$b"; else "bin/bench-$b"; fi
      if [ "$b" = ratelimit ]; then
        # Three nodes share the callers: each batches only its own.
        "bin/bench-$b" -nodes 3 -rounds 2
        # The limiter's script alone, by batch size, beside its floor and redis_rate.
        go test -run '^$' -bench ScriptCost -benchtime 2s ./ratelimit/
      fi ;;
    *) echo "unknown benchmark $b (choose from ${all[*]})" >&2; exit 2 ;;
  esac
done
