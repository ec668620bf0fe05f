package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// TestTracingHonoursOTELServiceName: the standard variables name the
// service (Compose and Nomad set OTEL_SERVICE_NAME); the node's own name
// applies only when they give none.
func TestTracingHonoursOTELServiceName(t *testing.T) {
	tests := []struct {
		name, serviceName, resourceAttrs, want string
	}{
		{"unset", "", "", "chopsticks"},
		{"OTEL_SERVICE_NAME", "chopsticks-eu", "", "chopsticks-eu"},
		{"service.name in OTEL_RESOURCE_ATTRIBUTES", "", "service.name=bot,deployment.environment=prod", "bot"},
		{"OTEL_SERVICE_NAME wins", "chopsticks-eu", "service.name=bot", "chopsticks-eu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", tt.serviceName)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tt.resourceAttrs)
			got := tracedResource(t, "chopsticks", "n1")
			if got["service.name"] != tt.want || got["service.instance.id"] != "n1" {
				t.Errorf("resource %v, want service.name %q and service.instance.id n1", got, tt.want)
			}
		})
	}
}

// tracedResource sets tracing up as a node does, with service and node,
// ends one span, and returns the span's resource attributes.
func tracedResource(t *testing.T, service, node string) map[string]string {
	t.Helper()
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	rec := tracetest.NewSpanRecorder()
	shutdown, err := telemetry.SetupTracing(context.Background(), service, node, rec)
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "one")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans recorded, want 1", len(spans))
	}
	res := map[string]string{}
	for _, a := range spans[0].Resource().Attributes() {
		res[string(a.Key)] = a.Value.Emit()
	}
	return res
}
