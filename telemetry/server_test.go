package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// TestReadyAnswersPromptly checks that /ready names each failing check and
// answers within a second even when a dependency hangs and ignores its
// context, as a stopped Redis or a black-holed etcd can.
func TestReadyAnswersPromptly(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name   string
		checks map[string]telemetry.Check
		status int
		want   map[string]string
	}{
		{
			name:   "all ok",
			checks: map[string]telemetry.Check{"a": func(context.Context) error { return nil }},
			status: http.StatusOK,
			want:   map[string]string{"a": "ok"},
		},
		{
			name: "one fails",
			checks: map[string]telemetry.Check{
				"a": func(context.Context) error { return nil },
				"b": func(context.Context) error { return errors.New("down") },
			},
			status: http.StatusServiceUnavailable,
			want:   map[string]string{"a": "ok", "b": "down"},
		},
		{
			name: "one hangs past its context",
			checks: map[string]telemetry.Check{
				"a":     func(context.Context) error { return nil },
				"stuck": func(context.Context) error { <-hang; return nil },
			},
			status: http.StatusServiceUnavailable,
			want:   map[string]string{"a": "ok", "stuck": "no answer within " + telemetry.ReadyBudget.String()},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := telemetry.NewServer("127.0.0.1:0", telemetry.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for n, c := range tc.checks {
				srv.AddCheck(n, c)
			}
			srv.Start()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			})
			client := &http.Client{Timeout: time.Second}
			start := time.Now()
			resp, err := client.Get("http://" + srv.Addr() + "/ready")
			if err != nil {
				t.Fatalf("/ready did not answer within a second: %v", err)
			}
			defer resp.Body.Close()
			t.Logf("answered in %s", time.Since(start).Round(time.Millisecond))
			var body struct {
				Ready  bool              `json:"ready"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || body.Ready != (tc.status == http.StatusOK) {
				t.Errorf("status %d ready %v, want %d", resp.StatusCode, body.Ready, tc.status)
			}
			for n, want := range tc.want {
				if body.Checks[n] != want {
					t.Errorf("check %s = %q, want %q", n, body.Checks[n], want)
				}
			}
		})
	}
}
