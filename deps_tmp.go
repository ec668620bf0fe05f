//go:build tools

package tools

import (
	_ "github.com/diamondburned/arikawa/v3/gateway"
	_ "github.com/diamondburned/arikawa/v3/session"
	_ "github.com/diamondburned/arikawa/v3/api"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/client/v3/concurrency"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/sdk/trace"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	_ "go.opentelemetry.io/otel/sdk/trace/tracetest"
	_ "github.com/gorilla/websocket"
	_ "github.com/peterbourgon/ff/v3"
	_ "github.com/jackc/tern/v2/migrate"
	_ "github.com/chromedp/chromedp"
	_ "golang.org/x/oauth2"
	_ "github.com/go-redis/redis_rate/v10"
)
