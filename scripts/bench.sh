#!/usr/bin/env bash
# make bench: every benchmark, each printing its figures beside its named
# baseline measured in the same run. Long; not part of make test.
# usage: scripts/bench.sh [economy|battles|ratelimit|voice|cluster|discordsim|load|controlplane|leaderboard|reshard ...]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
all=(discordsim economy battles ratelimit voice cluster load controlplane leaderboard reshard)
[ $# -gt 0 ] && all=("$@")
for b in "${all[@]}"; do
  echo "=== bench: $b"
  case "$b" in
    discordsim)
      go test -run '^$' -bench 'Dispatch10k' -benchmem -benchtime 3x ./discordsim/
      # Autocomplete at 200/s for a user holding 500 items, beside /balance (10 s).
      go test -run '^$' -bench AutocompleteBesideBalance -benchtime 2000x ./commands/ ;;
    economy|battles|ratelimit|voice|cluster)
      if [ ! -d "bench/$b" ]; then echo "bench/$b is missing" >&2; exit 1; fi
      go build -o "bin/bench-$b" "./bench/$b"
      if [ "$b" = cluster ]; then
        make -s build
        CHOPSTICKS_BIN="$PWD/bin/chopsticks" "bin/bench-$b"
        # SIGKILL failover on a three-member etcd beside one member.
        CHOPSTICKS_BIN="$PWD/bin/chopsticks" "bin/bench-$b" -cases kill -runs 3 -etcd-members 1,3
      else "bin/bench-$b"; fi
      if [ "$b" = ratelimit ]; then
        # Three nodes share the callers: each batches only its own.
        "bin/bench-$b" -nodes 3 -rounds 2
        # The limiter's script alone, by batch size, beside its floor and redis_rate.
        go test -run '^$' -bench ScriptCost -benchtime 2s ./ratelimit/internal/wire/
        # The limiter on a Redis Cluster (3 masters, a replica each) beside one Redis.
        go test -run '^$' -bench AllowByTopology -benchtime 3s ./ratelimit/
      fi ;;
    load)
      # The economy mix at 200 interactions/s on 3 nodes, 10k guilds, 100k
      # users, then node memory at 1k, 10k and 50k guilds.
      make -s build
      bin/chopsticks load --nodes 3 --guilds 10000 --users 100000 --rate 200 --duration 20s --quiet --json bin/load.json
      go build -o bin/bench-memory ./bench/memory
      bin/bench-memory -bin bin/chopsticks ;;
    leaderboard)
      # 1,000,000 accounts, 1,000 transfers/s, with and without board readers.
      go build -o bin/bench-leaderboard ./bench/leaderboard
      bin/bench-leaderboard ;;
    controlplane)
      # 2,500 shards over 50 coordinators on one etcd.
      go build -o bin/bench-controlplane ./bench/controlplane
      bin/bench-controlplane ;;
    reshard)
      # 16 -> 24 shards online at max_concurrency 16 and 1, beside a cold
      # restart's identify time, and the interaction p99 before and during.
      make -s build
      go build -o bin/bench-reshard ./bench/reshard
      CHOPSTICKS_BIN="$PWD/bin/chopsticks" bin/bench-reshard -mc 16,1 ;;
    *) echo "unknown benchmark $b (choose from ${all[*]})" >&2; exit 2 ;;
  esac
done
