package telemetry

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// HTTPTransport is an http.RoundTripper that makes an OpenTelemetry client
// span of every outgoing Discord REST request: its method, its route
// template (IDs and tokens replaced, see RouteTemplate) and its status
// code. It adds no trace headers: Discord is not part of our traces.
type HTTPTransport struct {
	next   http.RoundTripper
	tracer trace.Tracer
}

// NewHTTPTransport wraps next (http.DefaultTransport when nil).
func NewHTTPTransport(next http.RoundTripper) *HTTPTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &HTTPTransport{next: next, tracer: otel.Tracer("github.com/chopsticks-bot/chopsticks/telemetry/http")}
}

// RoundTrip sends req through the wrapped transport inside a span.
func (t *HTTPTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route := RouteTemplate(req.URL.Path)
	ctx, span := t.tracer.Start(req.Context(), req.Method+" "+route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("url.template", route),
			attribute.String("server.address", req.URL.Hostname()),
		))
	defer span.End()
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}

// RouteTemplate turns a Discord API path into a bounded template: numeric
// segments (snowflakes) become {id}, the token after an interaction's or a
// webhook's ID becomes {token}, and an emoji after /reactions/ becomes
// {emoji}. The /api and /vN prefix is kept as it came.
//
//	/api/v10/interactions/1234567890123456789/aW50ZXJh.../callback
//	-> /api/v10/interactions/{id}/{token}/callback
func RouteTemplate(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	// Skip the /api and /vN prefix when looking for resources.
	start := 0
	if start < len(segs) && segs[start] == "api" {
		start++
	}
	if start < len(segs) && len(segs[start]) > 1 && segs[start][0] == 'v' && allDigits(segs[start][1:]) {
		start++
	}
	for i := start; i < len(segs); i++ {
		s := segs[i]
		prev := ""
		if i > start {
			prev = segs[i-1]
		}
		switch {
		case allDigits(s):
			segs[i] = "{id}"
		case i == start+2 && (segs[start] == "interactions" || segs[start] == "webhooks") && segs[i-1] == "{id}" && s != "messages":
			segs[i] = "{token}"
		case prev == "reactions" && s != "@me":
			segs[i] = "{emoji}"
		}
	}
	if len(segs) == 1 && segs[0] == "" {
		return "/"
	}
	return "/" + strings.Join(segs, "/")
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
