#!/bin/sh
# test.sh: check the Prometheus configuration and run the alert rules' unit
# tests with promtool. `go test ./deploy/...` runs the same checks (and
# more); this script is for working on the rules by hand.
set -eu
cd "$(dirname "$0")"
command -v promtool >/dev/null 2>&1 || {
	echo "test.sh: promtool is not installed; install it with: apt-get install -y prometheus" >&2
	exit 1
}
promtool check config prometheus.yml
promtool check rules alerts.yml
promtool test rules alerts_test.yml
