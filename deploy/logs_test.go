package deploy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestLogShippingReadsStdout: a node writes its JSON log to stdout (the
// cmd/chopsticks and node tests run the binary and check it), so every
// collector must read that stream: the Nomad Alloy configuration the file
// Nomad keeps for the node task's stdout, the Compose one each line with
// its Docker stream, and the docs must name the same file.
func TestLogShippingReadsStdout(t *testing.T) {
	task := nomadNodeTask(t)
	src := checkAlloyWiring(t, "deploy/nomad/alloy.alloy",
		"local.file_match.chopsticks", "loki.source.file.chopsticks", "loki.process.json", "loki.write.loki")
	paths := regexp.MustCompile(`"__path__"\s*=\s*"([^"]+)"`).FindAllStringSubmatch(src, -1)
	if len(paths) == 0 {
		t.Fatal("deploy/nomad/alloy.alloy reads no file")
	}
	want := "/alloc/logs/" + task + ".stdout.*"
	for _, p := range paths {
		if !strings.HasSuffix(p[1], want) || !strings.Contains(p[1], "/alloc/*/alloc/logs/") {
			t.Errorf("Alloy reads %q, want <data_dir>/alloc/*%s (the node task's stdout)", p[1], want)
		}
	}

	compose := string(readFile(t, repoFile(t, "deploy/compose/alloy/config.alloy")))
	if !regexp.MustCompile(`source_labels = \["__meta_docker_container_log_stream"\]\s*target_label\s*=\s*"stream"`).MatchString(compose) {
		t.Error(`the Compose Alloy configuration does not label each line with its stream ({stream="stdout"} is the JSON log)`)
	}

	docs := string(readFile(t, repoFile(t, "docs/operations.md")))
	if !strings.Contains(docs, "JSON lines on stdout") {
		t.Error(`docs/operations.md does not say the log is "JSON lines on stdout"`)
	}
	mentions := regexp.MustCompile(`alloc/logs/[a-z]+\.std[a-z]+\.\*`).FindAllString(docs, -1)
	if len(mentions) == 0 {
		t.Error("docs/operations.md does not say which Nomad log file to ship")
	}
	for _, m := range mentions {
		if m != "alloc/logs/"+task+".stdout.*" {
			t.Errorf("docs/operations.md ships %s, want alloc/logs/%s.stdout.*", m, task)
		}
	}
	if !strings.Contains(docs, "deploy/nomad/alloy.alloy") {
		t.Error("docs/operations.md does not point at deploy/nomad/alloy.alloy")
	}

	unit := string(readFile(t, repoFile(t, "deploy/systemd/chopsticks.service")))
	if m := regexp.MustCompile(`(?m)^StandardOutput=(.*)$`).FindStringSubmatch(unit); m != nil && m[1] != "journal" {
		t.Errorf("the systemd unit sends stdout to %s; the docs read the log from the journal", m[1])
	}
}

// nomadNodeTask returns the name of the chopsticks job's task that runs
// `chopsticks node`.
func nomadNodeTask(t *testing.T) string {
	t.Helper()
	for _, j := range loadNomadJobs(t) {
		if j.job.Labels[0] != "chopsticks" {
			continue
		}
		for _, g := range blocks(j.job.Body, "group") {
			for _, task := range blocks(g.Body, "task") {
				for _, c := range blocks(task.Body, "config") {
					if args, ok := literal(c.Body, "args"); ok && args.CanIterateElements() && args.LengthInt() > 0 &&
						args.Index(cty.NumberIntVal(0)).Equals(cty.StringVal("node")).True() {
						return task.Labels[0]
					}
				}
			}
		}
	}
	t.Fatal("no task of the chopsticks job runs `chopsticks node`")
	return ""
}
