package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/node"
)

// envToken is how a variable looks in the docs: SHOUTING_SNAKE_CASE.
var envToken = regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)

// TestDocumentedVariablesExist: every variable-like name anywhere in the
// operator's docs (prose and code blocks as well as the settings tables
// TestDocumentedSettingsAreTheCodes checks) is a setting of the node, a
// standard OTEL_* variable, or a name that the code, the deploy files or
// the build read (a Compose variable, a Lavalink plugin's, a Discord event
// name...). A name found only in Markdown is one nothing reads, as
// DISCORD_CLIENT_ID was in dashboard/README.md.
func TestDocumentedVariablesExist(t *testing.T) {
	known := map[string]bool{"OTEL_RESOURCE_ATTRIBUTES": true} // read by the OpenTelemetry SDK
	for _, s := range node.Settings() {
		known[s.Env] = true
	}
	for name := range standardOTEL {
		known[name] = true
	}
	out, err := exec.Command("git", "-C", repoFile(t, "."), "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var elsewhere strings.Builder // every tracked file that is not Markdown
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasSuffix(f, ".md") {
			continue
		}
		b, err := os.ReadFile(repoFile(t, f))
		if err != nil {
			continue // deleted in the work tree
		}
		elsewhere.Write(b)
		elsewhere.WriteByte(0)
	}
	code := elsewhere.String()
	for _, f := range append(slices.Clone(docFiles), "dashboard/README.md") {
		seen := map[string]bool{}
		for _, name := range envToken.FindAllString(readDoc(t, f), -1) {
			if seen[name] || known[name] {
				continue
			}
			seen[name] = true
			if !regexp.MustCompile(`\b` + name + `\b`).MatchString(code) {
				t.Errorf("%s names %s, which no setting, code or deploy file has", f, name)
			}
		}
	}
}

// TestDocsChangeBotKeysOnlyThroughChopsticks: no document tells an operator
// to write or delete the bot's etcd keys with etcdctl (the shard-count
// procedure's `etcdctl del /chopsticks/config/units /chopsticks/plan` read
// the second key as a range end and deleted the wrong keys); a `chopsticks`
// subcommand does each such step. etcdctl stays for etcd's own health and
// membership.
func TestDocsChangeBotKeysOnlyThroughChopsticks(t *testing.T) {
	raw := regexp.MustCompile(`etcdctl\s+(?:put|del|txn|get|watch|lease\s+\w+|compact)\s+\S`)
	for _, f := range append(slices.Clone(docFiles), "dashboard/README.md") {
		for _, m := range raw.FindAllString(readDoc(t, f), -1) {
			t.Errorf("%s gives `%s...`: give a chopsticks subcommand for it", f, m)
		}
	}
}
