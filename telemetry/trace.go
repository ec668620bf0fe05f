package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// TracingEnabled reports whether the standard OTEL_* variables ask for trace
// export: an OTLP endpoint is set, or OTEL_TRACES_EXPORTER=otlp, and the SDK
// is not disabled.
func TracingEnabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if exp := os.Getenv("OTEL_TRACES_EXPORTER"); exp != "" {
		return strings.Contains(exp, "otlp")
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// SetupTracing installs the global tracer provider. With export enabled
// (see TracingEnabled) spans go to the OTLP/HTTP exporter configured by the
// OTEL_EXPORTER_OTLP_* variables; extra span processors (tests use an
// in-memory exporter) are added either way. With neither, tracing stays off.
// The service name is OTEL_SERVICE_NAME (or service.name in
// OTEL_RESOURCE_ATTRIBUTES) when set, as the OpenTelemetry specification
// has it, and service otherwise. The returned function flushes and stops
// the provider.
func SetupTracing(ctx context.Context, service, nodeID string, extra ...sdktrace.SpanProcessor) (func(context.Context) error, error) {
	if !TracingEnabled() && len(extra) == 0 {
		return func(context.Context) error { return nil }, nil
	}
	service = ServiceName(service)
	// Schemaless: resource.Default carries the SDK's own semconv schema,
	// and two different schema URLs cannot be merged.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(service), semconv.ServiceInstanceID(nodeID)))
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if TracingEnabled() {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	for _, p := range extra {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}

// ServiceName returns the service name traces carry: the one the standard
// variables give (OTEL_SERVICE_NAME, else service.name in
// OTEL_RESOURCE_ATTRIBUTES), or def when they give none.
func ServiceName(def string) string {
	if v, ok := resource.Environment().Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" {
		return v.AsString()
	}
	return def
}
