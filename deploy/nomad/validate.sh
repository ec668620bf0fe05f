#!/bin/sh
# validate.sh: run the real `nomad job validate` on every job in deploy/nomad.
#
# Nomad is not packaged for Debian, so the script builds the nomad binary from
# the Go module proxy once (about 7 minutes on 2 cores) into a cache directory
# and reuses it afterwards. `nomad job validate` needs no running agent.
#
#   deploy/nomad/validate.sh            build if needed, then validate all jobs
#   deploy/nomad/validate.sh --build    only build (or confirm) the cached binary
#   NOMAD=/usr/local/bin/nomad deploy/nomad/validate.sh   use an existing binary
set -eu

NOMAD_VERSION=1.10.5
# github.com/hashicorp/nomad replaces .../nomad/api with ./api, a nested module
# that the module zip leaves out; this pseudo-version supplies it.
NOMAD_API_VERSION=v0.0.0-20261016150620-df630b26e78a

here=$(cd "$(dirname "$0")" && pwd)
cache=${CHOPSTICKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chopsticks}
NOMAD=${NOMAD:-$cache/nomad-$NOMAD_VERSION/nomad}

build_nomad() {
	command -v go >/dev/null 2>&1 || {
		echo "validate.sh: go is required to build nomad (install Go 1.26+)" >&2
		exit 1
	}
	echo "validate.sh: building nomad $NOMAD_VERSION into $NOMAD (once; ~7 min on 2 cores)" >&2
	work=$(mktemp -d)
	trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
	# Outside any module or workspace, with the standard proxy.
	export GOWORK=off GOFLAGS=-buildvcs=false
	src=$(cd "$work" && go mod download -json "github.com/hashicorp/nomad@v$NOMAD_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	api=$(cd "$work" && go mod download -json "github.com/hashicorp/nomad/api@$NOMAD_API_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] && [ -n "$api" ] || {
		echo "validate.sh: could not download nomad sources from the Go module proxy" >&2
		exit 1
	}
	cp -R "$src" "$work/nomad"
	chmod -R u+w "$work/nomad"
	rm -rf "$work/nomad/api"
	cp -R "$api" "$work/nomad/api"
	chmod -R u+w "$work/nomad/api"
	mkdir -p "$(dirname "$NOMAD")"
	(cd "$work/nomad" && go build -mod=mod -trimpath -o "$NOMAD.tmp" .)
	mv "$NOMAD.tmp" "$NOMAD"
	"$NOMAD" version >&2
}

if [ ! -x "$NOMAD" ]; then
	build_nomad
fi
if [ "${1:-}" = "--build" ]; then
	exit 0
fi

status=0
for job in "$here"/*.nomad.hcl; do
	if "$NOMAD" job validate "$job"; then
		echo "ok   $job"
	else
		echo "FAIL $job" >&2
		status=1
	fi
done
exit $status
