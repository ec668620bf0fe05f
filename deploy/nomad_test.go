package deploy

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// nomadJob is one parsed job file.
type nomadJob struct {
	file string
	src  []byte
	body *hclsyntax.Body // the file's top-level body
	job  *hclsyntax.Block
}

func loadNomadJobs(t *testing.T) []nomadJob {
	t.Helper()
	files, err := filepath.Glob(repoFile(t, "deploy/nomad/*.nomad.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs []nomadJob
	parser := hclparse.NewParser()
	for _, f := range files {
		hf, diags := parser.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		body := hf.Body.(*hclsyntax.Body)
		j := nomadJob{file: filepath.Base(f), src: hf.Bytes, body: body}
		for _, b := range body.Blocks {
			switch b.Type {
			case "job":
				if j.job != nil {
					t.Fatalf("%s: more than one job", f)
				}
				j.job = b
			case "variable", "locals":
			default:
				t.Errorf("%s: unexpected top-level block %q", f, b.Type)
			}
		}
		if j.job == nil {
			t.Fatalf("%s: no job block", f)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

func blocks(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

func block(t *testing.T, b *hclsyntax.Body, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	for _, blk := range blocks(b, typ) {
		if slices.Equal(blk.Labels, labels) {
			return blk
		}
	}
	t.Fatalf("no %s block %q at %s", typ, labels, b.SrcRange)
	return nil
}

// literal evaluates an attribute that must be a constant; ok is false when
// the attribute is absent or refers to variables.
func literal(b *hclsyntax.Body, name string) (cty.Value, bool) {
	a, ok := b.Attributes[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	return v, true
}

func literalString(t *testing.T, b *hclsyntax.Body, name string) string {
	t.Helper()
	v, ok := literal(b, name)
	if !ok || v.Type() != cty.String {
		t.Errorf("%s at %s: want a string constant", name, b.SrcRange)
		return ""
	}
	return v.AsString()
}

func literalInt(t *testing.T, b *hclsyntax.Body, name string) int {
	t.Helper()
	v, ok := literal(b, name)
	if !ok || v.Type() != cty.Number {
		t.Errorf("%s at %s: want a number constant", name, b.SrcRange)
		return 0
	}
	i, _ := v.AsBigFloat().Int64()
	return int(i)
}

// source returns an attribute's expression as written.
func (j nomadJob) source(b *hclsyntax.Body, name string) string {
	a, ok := b.Attributes[name]
	if !ok {
		return ""
	}
	return string(a.Expr.Range().SliceBytes(j.src))
}

// variableDefault evaluates the default of a top-level variable block.
func (j nomadJob) variableDefault(t *testing.T, name string) cty.Value {
	t.Helper()
	v, ok := literal(block(t, j.body, "variable", name).Body, "default")
	if !ok {
		t.Fatalf("%s: variable %s has no constant default", j.file, name)
	}
	return v
}

func TestNomadJobsParseAndAreComplete(t *testing.T) {
	jobs := loadNomadJobs(t)
	var names []string
	for _, j := range jobs {
		names = append(names, j.job.Labels[0])
		t.Run(j.file, func(t *testing.T) {
			if want := strings.TrimSuffix(j.file, ".nomad.hcl"); j.job.Labels[0] != want {
				t.Errorf("job %q in file %s", j.job.Labels[0], j.file)
			}
			// nomad job validate runs without -var: every variable needs a default.
			for _, v := range blocks(j.body, "variable") {
				if _, ok := v.Body.Attributes["default"]; !ok {
					t.Errorf("variable %s has no default", v.Labels[0])
				}
			}
			if img := j.variableDefault(t, "image").AsString(); !pinnedImage.MatchString(img) || !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
				t.Errorf("image default %q is not pinned", img)
			}
			groups := blocks(j.job.Body, "group")
			if len(groups) == 0 {
				t.Fatal("no group")
			}
			for _, g := range groups {
				if len(blocks(g.Body, "update")) != 1 {
					t.Errorf("group %s has no update block", g.Labels[0])
				}
				if len(blocks(g.Body, "service")) == 0 {
					t.Errorf("group %s registers no service", g.Labels[0])
				}
				for _, task := range blocks(g.Body, "task") {
					if len(blocks(task.Body, "resources")) != 1 {
						t.Errorf("task %s has no resources", task.Labels[0])
					}
					cfg := block(t, task.Body, "config")
					if got := j.source(cfg.Body, "image"); got != "var.image" {
						t.Errorf("task %s: image = %s, want var.image", task.Labels[0], got)
					}
					for _, tpl := range blocks(task.Body, "template") {
						data := literalString(t, tpl.Body, "data")
						if strings.Contains(data, "nomadVar") && !strings.HasPrefix(literalString(t, tpl.Body, "destination"), "secrets/") {
							t.Errorf("task %s renders secrets outside secrets/", task.Labels[0])
						}
					}
				}
				for _, s := range blocks(g.Body, "service") {
					if p := literalString(t, s.Body, "provider"); p != "nomad" {
						t.Errorf("service provider %q, want nomad", p)
					}
				}
			}
		})
	}
	slices.Sort(names)
	if want := []string{"chopsticks", "etcd", "postgres", "redis"}; !slices.Equal(names, want) {
		t.Errorf("jobs %q, want %q", names, want)
	}
}

func TestNomadChopsticksJob(t *testing.T) {
	var j nomadJob
	for _, jj := range loadNomadJobs(t) {
		if jj.job.Labels[0] == "chopsticks" {
			j = jj
		}
	}
	if j.job == nil {
		t.Fatal("no chopsticks job")
	}
	if n := j.variableDefault(t, "node_count"); !n.Equals(cty.NumberIntVal(3)).True() {
		t.Errorf("node_count default %v, want 3", n.GoString())
	}
	g := block(t, j.job.Body, "group", "node")
	if got := j.source(g.Body, "count"); got != "var.node_count" {
		t.Errorf("count = %s, want var.node_count", got)
	}

	u := block(t, g.Body, "update").Body
	if got := literalInt(t, u, "max_parallel"); got != 1 {
		t.Errorf("update.max_parallel %d, want 1: one node drains at a time", got)
	}
	if got := literalString(t, u, "health_check"); got != "checks" {
		t.Errorf("update.health_check %q, want checks", got)
	}
	if v, ok := literal(u, "auto_revert"); !ok || !v.True() {
		t.Error("update.auto_revert is not true")
	}

	net := block(t, g.Body, "network").Body
	for _, p := range []string{"http", "gossip"} {
		block(t, net, "port", p)
	}

	var ready, prometheus bool
	for _, s := range blocks(g.Body, "service") {
		if literalString(t, s.Body, "port") != "http" {
			continue
		}
		if v, ok := literal(s.Body, "tags"); ok {
			for _, tag := range v.AsValueSlice() {
				prometheus = prometheus || tag.AsString() == "prometheus"
			}
		}
		for _, c := range blocks(s.Body, "check") {
			if literalString(t, c.Body, "type") == "http" && literalString(t, c.Body, "path") == "/ready" {
				ready = true
				if len(blocks(c.Body, "check_restart")) > 0 {
					t.Error("the /ready check restarts the task: a node waiting for etcd would be killed instead of waiting")
				}
			}
		}
	}
	if !ready {
		t.Error("no http check on /ready: rollouts would not wait for readiness")
	}
	if !prometheus {
		t.Error("the HTTP service is not tagged prometheus")
	}

	task := block(t, g.Body, "task", "chopsticks").Body
	if got := literalString(t, task, "kill_signal"); got != "SIGTERM" {
		t.Errorf("kill_signal %q, want SIGTERM", got)
	}
	if d, err := time.ParseDuration(literalString(t, task, "kill_timeout")); err != nil || d < 60*time.Second {
		t.Errorf("kill_timeout %q: the drain needs at least 60s", j.source(task, "kill_timeout"))
	}
	if got := toStrings(ctyToAny(mustLiteral(t, block(t, task, "config").Body, "args"))); !slices.Equal(got, []string{"node"}) {
		t.Errorf("args %q, want [node]", got)
	}

	// Every variable the node requires is set: in env, or by a template.
	set := make(map[string]string)
	env := block(t, task, "env").Body
	for name := range env.Attributes {
		set[name] = "env"
	}
	assign := regexp.MustCompile(`(?m)^\s*(?:\{\{[^}]*\}\})?([A-Z][A-Z0-9_]*)=`)
	var usesNomadVar bool
	for _, tpl := range blocks(task, "template") {
		data := literalString(t, tpl.Body, "data")
		usesNomadVar = usesNomadVar || strings.Contains(data, `nomadVar "nomad/jobs/chopsticks"`)
		for _, m := range assign.FindAllStringSubmatch(data, -1) {
			set[m[1]] = "template"
		}
		if v, ok := literal(tpl.Body, "env"); !ok || !v.True() {
			t.Errorf("template %s is not loaded into the environment (env = true)", literalString(t, tpl.Body, "destination"))
		}
	}
	if !usesNomadVar {
		t.Error("no template reads the Nomad variable nomad/jobs/chopsticks")
	}
	for _, v := range NodeEnv() {
		if v.Required && set[v.Name] == "" {
			t.Errorf("%s is not set", v.Name)
		}
		if v.Secret && set[v.Name] == "env" {
			t.Errorf("secret %s is in the job file; read it from the Nomad variable", v.Name)
		}
	}
	for k, want := range map[string]string{"HTTP_ADDR": "NOMAD_ADDR_http", "GOSSIP_ADDR": "NOMAD_ADDR_gossip"} {
		if got := j.source(env, k); !strings.Contains(got, want) {
			t.Errorf("%s = %s, want the allocated %s", k, got, want)
		}
	}

	// The migrations run before the node, once per allocation.
	mig := block(t, g.Body, "task", "migrate").Body
	if got := literalString(t, block(t, mig, "lifecycle").Body, "hook"); got != "prestart" {
		t.Errorf("migrate hook %q, want prestart", got)
	}
}

func mustLiteral(t *testing.T, b *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	v, ok := literal(b, name)
	if !ok {
		t.Fatalf("%s at %s: want a constant", name, b.SrcRange)
	}
	return v
}

func ctyToAny(v cty.Value) any {
	if v.Type().IsTupleType() || v.Type().IsListType() {
		var out []any
		for _, e := range v.AsValueSlice() {
			out = append(out, ctyToAny(e))
		}
		return out
	}
	if v.Type() == cty.String {
		return v.AsString()
	}
	return nil
}

func TestNomadEtcdJobKeepsQuorum(t *testing.T) {
	for _, j := range loadNomadJobs(t) {
		if j.job.Labels[0] != "etcd" {
			continue
		}
		addrs := j.variableDefault(t, "addresses")
		if n := addrs.LengthInt(); n%2 == 0 || n < 3 {
			t.Errorf("%d etcd members by default; want an odd number, at least 3", n)
		}
		g := block(t, j.job.Body, "group", "etcd")
		if got := literalInt(t, block(t, g.Body, "update").Body, "max_parallel"); got != 1 {
			t.Errorf("update.max_parallel %d: more than one member down loses quorum with 3", got)
		}
		if got := j.source(g.Body, "count"); got != "length(var.addresses)" {
			t.Errorf("count = %s, want length(var.addresses)", got)
		}
		return
	}
	t.Fatal("no etcd job")
}

// TestNomadJobValidate runs the real `nomad job validate` on every job when
// a nomad binary is at hand: $NOMAD, PATH, or the one deploy/nomad/validate.sh
// builds into the cache (make nomad-validate). Building it takes minutes, so
// the test does not; the parse checks above always run.
func TestNomadJobValidate(t *testing.T) {
	nomad := cachedTool("NOMAD", "nomad", "nomad-1.10.5/nomad")
	if nomad == "" {
		t.Log("no nomad binary; `make nomad-validate` builds one and validates the jobs")
		return
	}
	for _, j := range loadNomadJobs(t) {
		out, err := run(t, t.TempDir(), nomad, "job", "validate", repoFile(t, "deploy/nomad/"+j.file))
		if err != nil || !strings.Contains(out, "Job validation successful") {
			t.Errorf("nomad job validate %s: %v\n%s", j.file, err, out)
		}
	}
}
