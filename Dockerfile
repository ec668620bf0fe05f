# syntax=docker/dockerfile:1
#
# The chopsticks image: one static binary on a distroless base, run as an
# unprivileged user.
#
#   docker build -t chopsticks:local .
#   docker run --rm chopsticks:local help
#
# No HEALTHCHECK: the runtime image has no shell, curl or wget (that is the
# point of distroless), so a Docker HEALTHCHECK could only run the chopsticks
# binary itself. Probe the node's HTTP endpoints from outside instead: /health
# (alive) and /ready (etcd, PostgreSQL, Redis reachable, shards connected).
# Nomad's service checks and systemd do that; docker-compose.yml uses the
# binary's own `healthcheck` subcommand in exec form.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is reused until go.mod or go.sum changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
# CGO off: a static binary that needs no libc in the runtime image.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux \
    go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X main.version=${VERSION}" \
      -o /out/chopsticks ./cmd/chopsticks

FROM gcr.io/distroless/static-debian13:nonroot
COPY --from=build /out/chopsticks /usr/local/bin/chopsticks
# uid/gid 65532; no shell, no package manager.
USER nonroot:nonroot
ENV HTTP_ADDR=:8080 \
    GOSSIP_ADDR=:7946 \
    NODE_ENV=production
# HTTP (/metrics, /health, /ready, /status, dashboard) and memberlist gossip.
EXPOSE 8080/tcp 7946/tcp 7946/udp
# SIGTERM drains: shards are handed off by RESUME before the process exits.
# Give it time: docker stop -t 60, stop_grace_period: 60s in Compose.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/chopsticks"]
CMD ["node"]
