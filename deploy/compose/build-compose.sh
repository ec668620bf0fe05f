#!/bin/sh
# build-compose.sh: build the Docker Compose CLI (v2+ line, module
# github.com/docker/compose/v5) from the Go module proxy into a cache
# directory, for machines whose Docker has no compose plugin. The result runs
# standalone as `docker-compose` (or as a CLI plugin when copied to
# ~/.docker/cli-plugins/docker-compose); `docker-compose config` needs no
# Docker daemon. go test ./deploy/... validates docker-compose.yml with it
# when it is present.
#
#   deploy/compose/build-compose.sh      # prints the binary's path
set -eu

COMPOSE_VERSION=v5.6.0 # the newest release whose go.mod accepts Go 1.26.8
cache=${CHOPSTICKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chopsticks}
bin=$cache/compose-$COMPOSE_VERSION/docker-compose

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
command -v go >/dev/null 2>&1 || {
	echo "build-compose.sh: go is required (install Go 1.26+)" >&2
	exit 1
}
echo "build-compose.sh: building docker compose $COMPOSE_VERSION into $bin (once)" >&2
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-buildvcs=false
# The module has replace directives, so `go install mod@version` refuses it:
# build inside a copy of its source instead.
src=$(cd "$work" && go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] || {
	echo "build-compose.sh: could not download docker compose from the Go module proxy" >&2
	exit 1
}
cp -R "$src" "$work/compose"
chmod -R u+w "$work/compose"
mkdir -p "$(dirname "$bin")"
(cd "$work/compose" && go build -mod=mod -trimpath -o "$bin.tmp" ./cmd)
mv "$bin.tmp" "$bin"
echo "$bin"
