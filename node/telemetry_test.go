package node_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/chopsticks-bot/chopsticks/deploy"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// TestInteractionTraceAndMetrics runs one interaction through a node and
// checks its whole trace (the interaction, the claim in Redis, the rate
// limit, the economy transaction and its queries, and the REST reply), then
// scrapes /metrics for every family the dashboards and alerts rely on.
func TestInteractionTraceAndMetrics(t *testing.T) {
	// The node's own SetupTracing leaves a provider installed here alone
	// (no OTEL_* variables), so the recorder sees the node's spans.
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	shutdown, err := telemetry.SetupTracing(context.Background(), "chopsticks-test", "n1", rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = shutdown(context.Background())
		otel.SetTracerProvider(prev)
	})

	s := newStack(t, 1)
	addr := s.startNode(t, "n1")
	guild, user := guildAndUser(t, s.sim)
	i, _ := invoke(t, s.sim, discordsim.Invocation{Command: "daily", GuildID: guild, UserID: user})

	t.Run("one trace from interaction to reply", func(t *testing.T) {
		var root sdktrace.ReadOnlySpan
		poll.Eventually(t, 5*time.Second, func() bool {
			for _, sp := range rec.Ended() {
				if sp.Name() == "/daily" {
					root = sp
					return true
				}
			}
			return false
		}, "the /daily interaction span to end")
		if root.SpanKind() != trace.SpanKindServer || root.Parent().IsValid() {
			t.Errorf("interaction span: kind %v, parent %v; want a server span at the root", root.SpanKind(), root.Parent().SpanID())
		}
		traceID := root.SpanContext().TraceID()
		byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
		var spans []sdktrace.ReadOnlySpan
		for _, sp := range rec.Ended() {
			if sp.SpanContext().TraceID() == traceID {
				byID[sp.SpanContext().SpanID()] = sp
				spans = append(spans, sp)
			}
		}
		// Every span but the root hangs from a span of the same trace, and
		// started within its parent.
		for _, sp := range spans {
			if sp == root {
				continue
			}
			p, ok := byID[sp.Parent().SpanID()]
			if !ok {
				t.Errorf("span %q has a parent outside the trace", sp.Name())
				continue
			}
			if sp.StartTime().Before(p.StartTime()) {
				t.Errorf("span %q starts before its parent %q", sp.Name(), p.Name())
			}
		}
		// under reports whether sp descends from a span named ancestor.
		under := func(sp sdktrace.ReadOnlySpan, ancestor string) bool {
			for p, ok := byID[sp.Parent().SpanID()]; ok; p, ok = byID[p.Parent().SpanID()] {
				if p.Name() == ancestor {
					return true
				}
			}
			return false
		}
		attr := func(sp sdktrace.ReadOnlySpan, key string) string {
			for _, a := range sp.Attributes() {
				if string(a.Key) == key {
					return a.Value.Emit()
				}
			}
			return ""
		}
		find := func(what string, match func(sp sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
			for _, sp := range spans {
				if match(sp) {
					return sp
				}
			}
			t.Errorf("no span of %s in the trace", what)
			return nil
		}
		// The claim is the interaction's first step: its earliest child.
		var first sdktrace.ReadOnlySpan
		for _, sp := range spans {
			if byID[sp.Parent().SpanID()] == root && (first == nil || sp.StartTime().Before(first.StartTime())) {
				first = sp
			}
		}
		switch {
		case first == nil:
			t.Error("the interaction span has no children")
		case first.Name() != "redis set":
			t.Errorf("the first step of the interaction is %q, not the Redis claim (SET NX)", first.Name())
		}
		find("the rate-limit decision (a Redis script)", func(sp sdktrace.ReadOnlySpan) bool {
			op := attr(sp, "db.operation")
			return attr(sp, "db.system") == "redis" && (op == "evalsha" || op == "eval" || op == "pipeline") && under(sp, "/daily")
		})
		econ := find("the economy transaction", func(sp sdktrace.ReadOnlySpan) bool {
			return sp.Name() == "economy.daily" && under(sp, "/daily")
		})
		if econ != nil {
			find("a PostgreSQL query inside the transaction", func(sp sdktrace.ReadOnlySpan) bool {
				return attr(sp, "db.system") == "postgresql" && under(sp, "economy.daily")
			})
			find("the COMMIT of the transaction", func(sp sdktrace.ReadOnlySpan) bool {
				return attr(sp, "db.operation") == "COMMIT" && under(sp, "economy.daily")
			})
		}
		reply := find("the REST reply", func(sp sdktrace.ReadOnlySpan) bool {
			return sp.SpanKind() == trace.SpanKindClient && callbackRoute.MatchString(attr(sp, "url.template")) && byID[sp.Parent().SpanID()] == root
		})
		if reply != nil {
			if code := attr(reply, "http.response.status_code"); code != "204" && code != "200" {
				t.Errorf("reply span status code %q", code)
			}
		}
		// Nothing identifying goes into span names or attributes but the
		// interaction ID on the interaction span.
		if i.Token == "" {
			t.Fatal("the interaction has no token")
		}
		for _, sp := range spans {
			if strings.Contains(sp.Name(), i.Token) {
				t.Errorf("span %q names the interaction token", sp.Name())
			}
			for _, a := range sp.Attributes() {
				if strings.Contains(a.Value.Emit(), i.Token) {
					t.Errorf("span %q carries the interaction token in %s", sp.Name(), a.Key)
				}
			}
		}
		if t.Failed() {
			for _, sp := range spans {
				t.Logf("span %-50q parent %s kind %v", sp.Name(), sp.Parent().SpanID(), sp.SpanKind())
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		families := scrape(t, "http://"+addr+"/metrics")
		// Voice and the agent pool run only with LAVALINK_NODES and
		// AGENT_TOKEN_KEY; this node has neither.
		voiceOnly := map[string]bool{
			"chopsticks_music_voice_connections_active":   true,
			"chopsticks_music_lavalink_players":           true,
			"chopsticks_music_player_moves_total":         true,
			"chopsticks_music_players_restored_total":     true,
			"chopsticks_music_track_errors_total":         true,
			"chopsticks_music_search_cache_lookups_total": true,
			"chopsticks_music_forwarded_calls_total":      true,
			"chopsticks_music_forwarded_served_total":     true,
			"chopsticks_agent_pool_size_total":            true,
			"chopsticks_agent_pool_agents":                true,
		}
		want := map[string][]string{}
		for _, m := range deploy.Metrics() {
			want[m.Name] = m.Labels
		}
		// Named in issue 7 besides the deployment's list.
		for _, name := range []string{"chopsticks_commands_total", "chopsticks_command_duration_seconds",
			"chopsticks_economy_transactions_total", "chopsticks_rate_limit_hits_total", "chopsticks_db_query_duration_seconds",
			"chopsticks_db_pool_idle_conns", "chopsticks_db_pool_total_conns"} {
			if _, ok := want[name]; !ok {
				want[name] = nil
			}
		}
		var missing, labelDiffs []string
		for name, labels := range want {
			if voiceOnly[name] {
				continue
			}
			mf, ok := families[name]
			if !ok {
				missing = append(missing, name)
				continue
			}
			if _, declared := declaredLabels(name); !declared {
				continue
			}
			got := labelNames(mf)
			if w := sortedCopy(labels); len(mf.GetMetric()) > 0 && strings.Join(got, ",") != strings.Join(w, ",") {
				labelDiffs = append(labelDiffs, fmt.Sprintf("%s{%s}, deploy.Metrics says {%s}", name, strings.Join(got, ","), strings.Join(w, ",")))
			}
		}
		sort.Strings(missing)
		sort.Strings(labelDiffs)
		for _, name := range missing {
			t.Errorf("missing from /metrics: %s", name)
		}
		for _, d := range labelDiffs {
			t.Errorf("labels differ: %s", d)
		}
		// No chopsticks_ series may carry a snowflake (user, guild,
		// channel or interaction ID) as a label value.
		snowflake := regexp.MustCompile(`^[0-9]{17,20}$`)
		for name, mf := range families {
			if !strings.HasPrefix(name, "chopsticks_") {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if snowflake.MatchString(lp.GetValue()) || strings.Contains(lp.GetValue(), user.String()) || strings.Contains(lp.GetValue(), guild.String()) {
						t.Errorf("%s has label %s=%q, an ID", name, lp.GetName(), lp.GetValue())
					}
				}
			}
		}
		for name := range voiceOnly {
			if _, ok := families[name]; !ok {
				t.Logf("without voice, %s is not exported", name)
			}
		}
	})
}

// callbackRoute is the route template of an interaction's first response.
var callbackRoute = regexp.MustCompile(`^/api/v[0-9]+/interactions/\{id\}/\{token\}/callback$`)

// declaredLabels returns the labels deploy.Metrics gives name, if it lists it.
func declaredLabels(name string) ([]string, bool) {
	for _, m := range deploy.Metrics() {
		if m.Name == name {
			return m.Labels, true
		}
	}
	return nil, false
}

// labelNames is the sorted union of the label names of a family's series.
func labelNames(mf *dto.MetricFamily) []string {
	seen := map[string]bool{}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			seen[lp.GetName()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// scrape GETs a Prometheus text exposition and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}
