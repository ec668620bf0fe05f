package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wantDashboards are the dashboards issue 7 asks for, by uid.
var wantDashboards = []string{
	"chopsticks-cluster",    // cluster and shards
	"chopsticks-commands",   // commands
	"chopsticks-database",   // database
	"chopsticks-economy",    // economy
	"chopsticks-ratelimits", // rate limits
	"chopsticks-voice",      // voice and agents
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int                       `json:"id"`
	Type       string                    `json:"type"`
	Title      string                    `json:"title"`
	Datasource *dsRef                    `json:"datasource"`
	GridPos    *struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		RefID      string `json:"refId"`
		Datasource *dsRef `json:"datasource"`
		Expr       string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type dashboard struct {
	file          string
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Datasource *dsRef `json:"datasource"`
			Definition string `json:"definition"`
			Query      any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// allPanels returns the panels, rows' nested panels included.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

type query struct {
	where string // dashboard file, panel and refId, for messages
	ds    string // datasource uid
	expr  string
}

// queries returns every query of the dashboard with its data source, the
// panel's when the target names none.
func (d dashboard) queries() []query {
	var qs []query
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			ds := ""
			switch {
			case tg.Datasource != nil:
				ds = tg.Datasource.UID
			case p.Datasource != nil:
				ds = p.Datasource.UID
			}
			qs = append(qs, query{where: d.file + ": panel " + strings.TrimSpace(p.Title) + " " + tg.RefID, ds: ds, expr: tg.Expr})
		}
	}
	return qs
}

// promQueries returns the Prometheus queries of panels and the selectors
// inside label_values() of template variables.
func (d dashboard) promQueries() []query {
	var qs []query
	for _, q := range d.queries() {
		if q.ds == "prometheus" {
			qs = append(qs, q)
		}
	}
	for _, v := range d.Templating.List {
		if v.Datasource == nil || v.Datasource.UID != "prometheus" {
			continue
		}
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			qs = append(qs, query{where: d.file + ": variable " + v.Name, ds: "prometheus", expr: m[1]})
		}
	}
	return qs
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob(repoFile(t, "deploy/grafana/dashboards/*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dashboards in deploy/grafana/dashboards")
	}
	var ds []dashboard
	for _, f := range files {
		b := readFile(t, f)
		if !json.Valid(b) {
			t.Fatalf("%s is not valid JSON", f)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d.file = filepath.Base(f)
		ds = append(ds, d)
	}
	return ds
}

type datasourcesFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name string `yaml:"name"`
		UID  string `yaml:"uid"`
		Type string `yaml:"type"`
		URL  string `yaml:"url"`
	} `yaml:"datasources"`
}

// provisionedDatasources returns the provisioned data sources' types by uid.
func provisionedDatasources(t *testing.T) map[string]string {
	t.Helper()
	var f datasourcesFile
	decodeYAML(t, repoFile(t, "deploy/grafana/provisioning/datasources/datasources.yml"), &f)
	if f.APIVersion != 1 {
		t.Errorf("datasources.yml apiVersion %d, want 1", f.APIVersion)
	}
	uids := make(map[string]string)
	for _, d := range f.Datasources {
		if d.UID == "" || d.Name == "" || d.URL == "" {
			t.Errorf("data source %+v lacks a uid, name or url", d)
		}
		if _, dup := uids[d.UID]; dup {
			t.Errorf("data source uid %q twice", d.UID)
		}
		uids[d.UID] = d.Type
	}
	return uids
}

func TestGrafanaDatasources(t *testing.T) {
	uids := provisionedDatasources(t)
	want := map[string]string{"prometheus": "prometheus", "loki": "loki"}
	for uid, typ := range want {
		if uids[uid] != typ {
			t.Errorf("data source %q has type %q, want %q", uid, uids[uid], typ)
		}
	}
	// The URLs name Compose services on their ports.
	var f datasourcesFile
	decodeYAML(t, repoFile(t, "deploy/grafana/provisioning/datasources/datasources.yml"), &f)
	services := loadCompose(t).Services
	for _, d := range f.Datasources {
		host := strings.TrimPrefix(d.URL, "http://")
		host, _, _ = strings.Cut(host, ":")
		if _, ok := services[host]; !ok {
			t.Errorf("data source %s points at %s, which is not a service of docker-compose.yml", d.UID, d.URL)
		}
	}
}

func TestGrafanaDashboardProvider(t *testing.T) {
	var f struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	decodeYAML(t, repoFile(t, "deploy/grafana/provisioning/dashboards/dashboards.yml"), &f)
	if len(f.Providers) != 1 || f.Providers[0].Type != "file" {
		t.Fatalf("want one file provider, got %+v", f.Providers)
	}
	path := f.Providers[0].Options.Path
	// Grafana in docker-compose.yml must mount the dashboards there.
	var mounted bool
	for _, v := range loadCompose(t).Services["grafana"].Volumes {
		src, dst, _ := strings.Cut(strings.TrimSuffix(v, ":ro"), ":")
		if src == "./deploy/grafana/dashboards" && dst == path {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the provider reads %s, but docker-compose.yml does not mount ./deploy/grafana/dashboards there", path)
	}
}

func TestGrafanaDashboards(t *testing.T) {
	uids := provisionedDatasources(t)
	dashboards := loadDashboards(t)
	var got []string
	titles := make(map[string]bool)
	for _, d := range dashboards {
		t.Run(d.file, func(t *testing.T) {
			if d.UID == "" || len(d.UID) > 40 {
				t.Errorf("uid %q: want 1 to 40 characters", d.UID)
			}
			if d.Title == "" {
				t.Error("no title")
			}
			if titles[d.Title] {
				t.Errorf("title %q used twice", d.Title)
			}
			titles[d.Title] = true
			if d.SchemaVersion < 30 {
				t.Errorf("schemaVersion %d is older than Grafana 10", d.SchemaVersion)
			}
			ids := make(map[int]bool)
			panels := d.allPanels()
			if len(panels) < 4 {
				t.Errorf("%d panels; a dashboard this thin is a stub", len(panels))
			}
			for _, p := range panels {
				if ids[p.ID] || p.ID == 0 {
					t.Errorf("panel %q: id %d missing or used twice", p.Title, p.ID)
				}
				ids[p.ID] = true
				if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
				}
				if p.Title == "" {
					t.Errorf("panel %d has no title", p.ID)
				}
				if p.Type != "row" && len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				if p.Datasource != nil {
					if _, ok := uids[p.Datasource.UID]; !ok {
						t.Errorf("panel %q: data source uid %q is not provisioned", p.Title, p.Datasource.UID)
					}
				}
			}
			for _, q := range d.queries() {
				typ, ok := uids[q.ds]
				if !ok {
					t.Errorf("%s: data source uid %q is not provisioned", q.where, q.ds)
					continue
				}
				if strings.TrimSpace(q.expr) == "" {
					t.Errorf("%s: empty query", q.where)
				}
				if typ == "loki" && !strings.HasPrefix(q.expr, "{") {
					t.Errorf("%s: LogQL must start with a stream selector: %q", q.where, q.expr)
				}
			}
			for _, v := range d.Templating.List {
				if v.Datasource != nil {
					if _, ok := uids[v.Datasource.UID]; !ok {
						t.Errorf("variable %s: data source uid %q is not provisioned", v.Name, v.Datasource.UID)
					}
				}
			}
			for _, q := range d.promQueries() {
				if u := UnknownMetrics(q.expr); len(u) > 0 {
					t.Errorf("%s: unknown metrics %q in %q (see deploy.Metrics)", q.where, u, q.expr)
				}
			}
		})
		got = append(got, d.UID)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantDashboards) {
		t.Errorf("dashboards %q, want %q", got, wantDashboards)
	}
}

// TestEveryMetricIsOnADashboard keeps the dashboards complete: a metric the
// bot exports but no dashboard shows is a metric nobody looks at.
func TestEveryMetricIsOnADashboard(t *testing.T) {
	shown := make(map[string]bool)
	for _, d := range loadDashboards(t) {
		for _, q := range d.promQueries() {
			for _, m := range MetricsIn(q.expr) {
				shown[m] = true
			}
		}
	}
	for _, m := range Metrics() {
		if !shown[m.Name] {
			t.Errorf("%s is on no dashboard", m.Name)
		}
	}
}

func TestDashboardsAreFormatted(t *testing.T) {
	// Two-space indented JSON, as Grafana exports it: diffs stay readable.
	for _, d := range loadDashboards(t) {
		path := repoFile(t, "deploy/grafana/dashboards/"+d.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "{\n  \"") {
			t.Errorf("%s is not indented with two spaces", d.file)
		}
	}
}
