package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// repoRoot returns the repository root: the tests run in deploy/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from deploy/: %v", err)
	}
	return root
}

// repoFile returns the path of a file given relative to the repository root.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), filepath.FromSlash(rel))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeYAML decodes a YAML file strictly enough to catch syntax errors and
// wrong shapes; unknown fields are allowed (the structs hold what we check).
func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(readFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// requireTool returns the path of a command that the tests need, or fails
// the test with the command that installs it.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; install it with: %s", name, install)
	}
	return path
}

// run runs a command in dir with a deadline and returns its combined output.
func run(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// cachedTool finds a tool that a script in deploy/ builds into the cache
// directory: first the environment variable, then PATH, then the cache.
func cachedTool(env, name, cacheRel string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	cache := os.Getenv("CHOPSTICKS_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return ""
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "chopsticks")
	}
	p := filepath.Join(cache, filepath.FromSlash(cacheRel))
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p
	}
	return ""
}

// envFileKeys returns the keys of a KEY=value file (comments and blank lines
// skipped) in order.
func envFileKeys(t *testing.T, path string) []string {
	t.Helper()
	var keys []string
	for i, line := range strings.Split(string(readFile(t, path)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsFunc(k, unicode.IsSpace) {
			t.Errorf("%s:%d: not a KEY=value line: %q", path, i+1, line)
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

func TestEnvExamplesNameEveryVariable(t *testing.T) {
	for _, file := range []string{"deploy/compose.env.example", "deploy/systemd/chopsticks.env.example"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			keys := make(map[string]int)
			for _, k := range envFileKeys(t, repoFile(t, file)) {
				keys[k]++
			}
			for k, n := range keys {
				if n > 1 {
					t.Errorf("%s is set %d times", k, n)
				}
			}
			for _, v := range NodeEnv() {
				// The Compose file sets the per-node and wiring variables itself.
				if strings.HasSuffix(file, "compose.env.example") && composeSetsItself[v.Name] {
					continue
				}
				if keys[v.Name] == 0 {
					t.Errorf("%s does not name %s (%s)", file, v.Name, v.Help)
				}
			}
		})
	}
}

// composeSetsItself lists the node variables docker-compose.yml derives or
// fixes per node instead of reading them from .env.
var composeSetsItself = map[string]bool{
	"NODE_ID": true, "HTTP_ADDR": true, "GOSSIP_ADDR": true, "GOSSIP_SEEDS": true,
	"POSTGRES_URL": true, "REDIS_URL": true, "ETCD_ENDPOINTS": true, "LAVALINK_NODES": true,
}

func TestEnvExamplesHoldNoSecrets(t *testing.T) {
	for _, file := range []string{"deploy/compose.env.example", "deploy/systemd/chopsticks.env.example"} {
		for i, line := range strings.Split(string(readFile(t, repoFile(t, file))), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok || strings.HasPrefix(k, "#") {
				continue
			}
			for _, e := range NodeEnv() {
				if e.Name == k && e.Secret && v != "" && !strings.Contains(v, "PASSWORD") {
					t.Errorf("%s:%d: secret %s has a value in an example file", file, i+1, k)
				}
			}
		}
	}
}

func TestNodeEnvIsWellFormed(t *testing.T) {
	name := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	seen := make(map[string]bool)
	for _, v := range NodeEnv() {
		if !name.MatchString(v.Name) {
			t.Errorf("bad variable name %q", v.Name)
		}
		if seen[v.Name] {
			t.Errorf("%s listed twice", v.Name)
		}
		seen[v.Name] = true
		if v.Help == "" {
			t.Errorf("%s has no help", v.Name)
		}
	}
	for _, must := range []string{"DISCORD_TOKEN", "POSTGRES_URL", "REDIS_URL", "ETCD_ENDPOINTS", "AGENT_TOKEN_KEY", "NODE_ID"} {
		if !seen[must] {
			t.Errorf("NodeEnv lacks %s", must)
		}
	}
}

func TestOperationsGuideCoversEverything(t *testing.T) {
	doc := string(readFile(t, repoFile(t, "docs/operations.md")))
	for _, v := range NodeEnv() {
		if !strings.Contains(doc, "`"+v.Name+"`") {
			t.Errorf("docs/operations.md does not document %s", v.Name)
		}
	}
	anchors := markdownAnchors(t, repoFile(t, "docs/operations.md"))
	for _, h := range []string{"deploy-with-docker-compose", "deploy-with-nomad", "deploy-with-systemd", "scaling-guide", "nodes", "shards", "etcd", "postgresql", "redis", "alerts"} {
		if !anchors[h] {
			t.Errorf("docs/operations.md has no section #%s", h)
		}
	}
	// Links inside the guide point at its own headings.
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(doc, -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/operations.md links to #%s, which is no heading", m[1])
		}
	}
	// Files it tells operators to use exist.
	for _, m := range regexp.MustCompile("`((?:deploy|docs)/[A-Za-z0-9_./-]+)`").FindAllStringSubmatch(doc, -1) {
		path := strings.TrimRight(m[1], "/")
		if strings.Contains(path, "*") {
			continue
		}
		if _, err := os.Stat(repoFile(t, path)); err != nil {
			t.Errorf("docs/operations.md names %s, which does not exist", m[1])
		}
	}
}
