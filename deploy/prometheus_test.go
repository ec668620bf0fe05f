package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const promtoolInstall = "apt-get install -y prometheus"

// ruleFile is the part of a Prometheus rule file the tests look at.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTestFile is the part of a promtool rule test file the tests look at.
type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// requiredAlerts are the alerts issue 7 asks for, by what they watch.
var requiredAlerts = map[string]string{
	"ChopsticksCommandErrorRateHigh": "command error rate above 5%",
	"ChopsticksCommandLatencyHigh":   "p95 command latency above 5 s",
	"ChopsticksAgentPoolLow":         "agent pool below 3 available",
	"ChopsticksDBPoolSaturated":      "database connection pool above 80%",
	"ChopsticksRedisErrors":          "Redis connection failures",
	"ChopsticksDiscordRateLimited":   "Discord rate limits hit",
	"ChopsticksShardDown":            "shard down",
	"ChopsticksNoLeader":             "no leader",
}

func TestPromtoolCheckConfigStatic(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	out, err := run(t, repoFile(t, "deploy/prometheus"), promtool, "check", "config", "prometheus.yml")
	if err != nil {
		t.Fatalf("promtool check config prometheus.yml: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check config printed no SUCCESS:\n%s", out)
	}
}

// TestPromtoolCheckConfigDiscovery checks the Consul and Nomad variants.
// Debian's promtool is built without those discovery mechanisms, so the
// discovery block is checked here field by field and the rest of the file by
// promtool, with the discovery block swapped for a static one.
func TestPromtoolCheckConfigDiscovery(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	tests := []struct {
		file, sdKey string
		wantFields  []string
		wantKeep    string // a relabel rule must keep on this source label
	}{
		{"prometheus-consul.yml", "consul_sd_configs", []string{"server", "services"}, ""},
		{"prometheus-nomad.yml", "nomad_sd_configs", []string{"server"}, "__meta_nomad_tags"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var cfg map[string]any
			decodeYAML(t, repoFile(t, "deploy/prometheus/"+tt.file), &cfg)
			jobs, _ := cfg["scrape_configs"].([]any)
			var found bool
			for _, j := range jobs {
				job := j.(map[string]any)
				sd, ok := job[tt.sdKey].([]any)
				if !ok {
					continue
				}
				found = true
				if job["job_name"] != "chopsticks" {
					t.Errorf("%s is on job %v, want chopsticks", tt.sdKey, job["job_name"])
				}
				for _, s := range sd {
					for _, f := range tt.wantFields {
						if _, ok := s.(map[string]any)[f]; !ok {
							t.Errorf("%s entry lacks %s", tt.sdKey, f)
						}
					}
				}
				if tt.wantKeep != "" && !keepsOn(job, tt.wantKeep) {
					t.Errorf("no relabel rule keeps targets by %s", tt.wantKeep)
				}
				delete(job, tt.sdKey)
				job["static_configs"] = []any{map[string]any{"targets": []any{"127.0.0.1:8080"}}}
			}
			if !found {
				t.Fatalf("%s has no %s", tt.file, tt.sdKey)
			}
			dir := t.TempDir()
			b, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, tt.file), b)
			writeFile(t, filepath.Join(dir, "alerts.yml"), readFile(t, repoFile(t, "deploy/prometheus/alerts.yml")))
			out, err := run(t, dir, promtool, "check", "config", tt.file)
			if err != nil {
				t.Fatalf("promtool check config %s (discovery swapped for static): %v\n%s", tt.file, err, out)
			}
		})
	}
}

func keepsOn(job map[string]any, label string) bool {
	rules, _ := job["relabel_configs"].([]any)
	for _, r := range rules {
		rule := r.(map[string]any)
		src, _ := rule["source_labels"].([]any)
		if rule["action"] == "keep" && slices.Contains(src, any(label)) {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	out, err := run(t, repoFile(t, "deploy/prometheus"), promtool, "check", "rules", "alerts.yml")
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	out, err := run(t, repoFile(t, "deploy/prometheus"), promtool, "test", "rules", "alerts_test.yml")
	if err != nil {
		t.Fatalf("promtool test rules alerts_test.yml: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool printed no SUCCESS:\n%s", out)
	}
}

// TestPromtoolTestRulesCatchesABrokenRule proves the rule tests can fail: with
// the error-rate threshold raised from 5% to 50%, they must.
func TestPromtoolTestRulesCatchesABrokenRule(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	rules := string(readFile(t, repoFile(t, "deploy/prometheus/alerts.yml")))
	const threshold = "  ) > 0.05\n"
	if strings.Count(rules, threshold) != 1 {
		t.Fatalf("alerts.yml no longer has the error-rate threshold %q once; update this test", threshold)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "alerts.yml"), []byte(strings.Replace(rules, threshold, "  ) > 0.5\n", 1)))
	writeFile(t, filepath.Join(dir, "alerts_test.yml"), readFile(t, repoFile(t, "deploy/prometheus/alerts_test.yml")))
	out, err := run(t, dir, promtool, "test", "rules", "alerts_test.yml")
	if err == nil {
		t.Fatalf("promtool test rules passed with a broken rule:\n%s", out)
	}
	if !strings.Contains(out, "ChopsticksCommandErrorRateHigh") {
		t.Errorf("the failure does not name the broken alert:\n%s", out)
	}
}

func TestEveryAlertIsTestedFiringAndSilent(t *testing.T) {
	var rules ruleFile
	decodeYAML(t, repoFile(t, "deploy/prometheus/alerts.yml"), &rules)
	var tests ruleTestFile
	decodeYAML(t, repoFile(t, "deploy/prometheus/alerts_test.yml"), &tests)
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("alerts_test.yml tests %q, want [alerts.yml]", tests.RuleFiles)
	}
	firing := make(map[string]int)
	silent := make(map[string]int)
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname]++
			} else {
				silent[a.Alertname]++
			}
		}
	}
	alerts := make(map[string]bool)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			if firing[r.Alert] == 0 {
				t.Errorf("alert %s has no test where it fires", r.Alert)
			}
			if silent[r.Alert] == 0 {
				t.Errorf("alert %s has no test where it stays silent", r.Alert)
			}
		}
	}
	for name := range firing {
		if !alerts[name] {
			t.Errorf("alerts_test.yml tests %s, which alerts.yml does not define", name)
		}
	}
	for name, what := range requiredAlerts {
		if !alerts[name] {
			t.Errorf("no alert %s (%s)", name, what)
		}
	}
}

func TestAlertsAreWellFormed(t *testing.T) {
	var rules ruleFile
	decodeYAML(t, repoFile(t, "deploy/prometheus/alerts.yml"), &rules)
	anchors := markdownAnchors(t, repoFile(t, "docs/operations.md"))
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if u := UnknownMetrics(r.Expr); len(u) > 0 {
				t.Errorf("%s queries unknown metrics %q (see deploy.Metrics)", r.Alert, u)
			}
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, sev)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			doc, anchor, ok := strings.Cut(r.Annotations["runbook_url"], "#")
			if !ok || doc != "docs/operations.md" || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q does not point at a heading of docs/operations.md", r.Alert, r.Annotations["runbook_url"])
			}
		}
	}
}

// markdownAnchors returns the GitHub anchors of a Markdown file's headings.
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	anchors := make(map[string]bool)
	inFence := false
	for _, line := range strings.Split(string(readFile(t, path)), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		anchors[slug(strings.TrimLeft(line, "# "))] = true
	}
	return anchors
}

var slugDrop = regexp.MustCompile(`[^\p{L}\p{N} _-]`)

// slug is GitHub's heading anchor: lower case, punctuation dropped, spaces
// turned into hyphens.
func slug(heading string) string {
	s := slugDrop.ReplaceAllString(strings.ToLower(strings.TrimSpace(heading)), "")
	return strings.ReplaceAll(s, " ", "-")
}

// TestDashboardQueriesParse feeds every dashboard query to promtool as a
// recording rule, so that a PromQL syntax error fails here, not in Grafana.
func TestDashboardQueriesParse(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	n := 0
	for _, d := range loadDashboards(t) {
		for _, q := range d.promQueries() {
			expr := grafanaVars.Replace(q.expr)
			fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %q\n", n, expr)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no dashboard queries found")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "queries.yml"), []byte(b.String()))
	out, err := run(t, dir, promtool, "check", "rules", "queries.yml")
	if err != nil {
		t.Fatalf("dashboard queries do not parse: %v\n%s", err, out)
	}
	t.Logf("%d dashboard queries parsed", n)
}

// grafanaVars replaces Grafana's variables with values PromQL accepts.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"$__interval", "1m",
	"$__range", "1h",
	"$instance", ".*",
)
