// Package deploy holds what operators run Chopsticks with, and checks it.
//
// The directory carries the deployment artefacts: Prometheus scrape
// configuration and alert rules (prometheus/), Grafana provisioning and
// dashboards (grafana/), Nomad jobs (nomad/), a hardened systemd unit
// (systemd/) and the configuration files of the Docker Compose stack
// (compose/). The Go code states the contract those artefacts share with the
// bot: the metric names they may query (Metrics) and the environment a node
// needs (NodeEnv). The tests beside it parse every artefact with real parsers
// (promtool, systemd-analyze, HCL, YAML) and hold each one to that contract,
// so a renamed metric or a new required variable breaks `go test
// ./deploy/...` instead of a dashboard or a deployment.
package deploy
