package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestMetricsAreWellFormed(t *testing.T) {
	name := regexp.MustCompile(`^chopsticks_[a-z][a-z0-9_]*$`)
	// Labels whose values would be unbounded; never on a metric.
	forbidden := []string{"user", "user_id", "guild", "guild_id", "channel", "channel_id", "interaction_id", "token"}
	seen := make(map[string]bool)
	for _, m := range Metrics() {
		if !name.MatchString(m.Name) {
			t.Errorf("%s: not a chopsticks_ snake_case name", m.Name)
		}
		if seen[m.Name] {
			t.Errorf("%s: listed twice", m.Name)
		}
		seen[m.Name] = true
		if m.Type == Counter && !strings.HasSuffix(m.Name, "_total") {
			t.Errorf("%s: counters end in _total", m.Name)
		}
		if m.Type == Histogram && !strings.HasSuffix(m.Name, "_seconds") {
			t.Errorf("%s: histograms here measure seconds", m.Name)
		}
		for _, l := range m.Labels {
			if slices.Contains(forbidden, l) {
				t.Errorf("%s: label %q has unbounded values", m.Name, l)
			}
		}
		if m.Help == "" {
			t.Errorf("%s: no help", m.Name)
		}
	}
	if n := len(Metrics()); n < 21 {
		t.Errorf("Metrics() has %d families, want the 21 of issue 7", n)
	}
}

func TestUnknownMetrics(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum(rate(chopsticks_commands_total[5m]))`, nil},
		{`histogram_quantile(0.95, sum by (le) (rate(chopsticks_command_duration_seconds_bucket[5m])))`, nil},
		{`chopsticks_db_query_duration_seconds_sum / chopsticks_db_query_duration_seconds_count`, nil},
		// _bucket exists only on histograms.
		{`chopsticks_commands_total_bucket`, []string{"chopsticks_commands_total_bucket"}},
		{`chopsticks_command_total + chopsticks_command_total + up`, []string{"chopsticks_command_total"}},
		{`rate(chopsticks_shard_up[5m]) > chopsticks_nope`, []string{"chopsticks_nope"}},
		{`label_values(up{job="chopsticks"}, instance)`, nil},
	}
	for _, tt := range tests {
		if got := UnknownMetrics(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("UnknownMetrics(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestMetricsIn(t *testing.T) {
	got := MetricsIn(`sum(rate(chopsticks_command_duration_seconds_bucket[5m])) / sum(rate(chopsticks_command_duration_seconds_count[5m])) + chopsticks_shards_owned`)
	want := []string{"chopsticks_command_duration_seconds", "chopsticks_shards_owned"}
	if !slices.Equal(got, want) {
		t.Errorf("MetricsIn = %q, want %q", got, want)
	}
}
