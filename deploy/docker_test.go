package deploy

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerfile is a Dockerfile split into instructions (continuations joined).
type dockerfile struct {
	args  map[string]string // ARG defaults
	instr [][2]string       // instruction, rest of the line
}

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	df := dockerfile{args: make(map[string]string)}
	var cur string
	for _, line := range strings.Split(string(readFile(t, repoFile(t, "Dockerfile"))), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		op, rest, _ := strings.Cut(cur, " ")
		op = strings.ToUpper(op)
		rest = strings.TrimSpace(rest)
		df.instr = append(df.instr, [2]string{op, rest})
		if op == "ARG" {
			if k, v, ok := strings.Cut(rest, "="); ok {
				df.args[k] = v
			}
		}
		cur = ""
	}
	return df
}

func (df dockerfile) all(op string) []string {
	var out []string
	for _, in := range df.instr {
		if in[0] == op {
			out = append(out, in[1])
		}
	}
	return out
}

func (df dockerfile) expand(s string) string {
	for k, v := range df.args {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return s
}

func TestDockerfile(t *testing.T) {
	df := loadDockerfile(t)
	froms := df.all("FROM")
	if len(froms) < 2 {
		t.Fatalf("%d stages; want a multi-stage build", len(froms))
	}
	for _, f := range froms {
		img := strings.Fields(df.expand(f))[0]
		// Distroless publishes no versioned tags: the Debian release in the
		// name is the pin (or a digest).
		distroless := regexp.MustCompile(`^gcr\.io/distroless/[a-z]+-debian\d+(:[a-z]+)?(@sha256:[0-9a-f]{64})?$`).MatchString(img)
		if !distroless && (!pinnedImage.MatchString(img) || !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest")) {
			t.Errorf("FROM %s is not pinned", img)
		}
	}
	final := strings.Fields(froms[len(froms)-1])[0]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") || !strings.HasSuffix(final, ":nonroot") {
		t.Errorf("runtime image %s; want distroless static, nonroot", final)
	}
	users := df.all("USER")
	if len(users) == 0 || slices.Contains([]string{"root", "0", "0:0", "root:root"}, users[len(users)-1]) {
		t.Errorf("USER %q: the image must not run as root", users)
	}
	var static bool
	for _, r := range df.all("RUN") {
		if strings.Contains(r, "go build") && strings.Contains(r, "CGO_ENABLED=0") && strings.Contains(r, "./cmd/chopsticks") {
			static = true
		}
	}
	if !static {
		t.Error("no RUN builds ./cmd/chopsticks with CGO_ENABLED=0")
	}
	entry := strings.Join(df.all("ENTRYPOINT"), "")
	copies := strings.Join(df.all("COPY"), "\n")
	m := regexp.MustCompile(`^\["([^"]+)"\]$`).FindStringSubmatch(entry)
	if m == nil || !strings.Contains(copies, "/out/chopsticks "+m[1]) {
		t.Errorf("ENTRYPOINT %s is not the copied binary (COPY: %s)", entry, copies)
	}
	expose := strings.Fields(strings.Join(df.all("EXPOSE"), " "))
	for _, p := range []string{"8080/tcp", "7946/tcp", "7946/udp"} {
		if !slices.Contains(expose, p) {
			t.Errorf("EXPOSE lacks %s", p)
		}
	}
	if got := df.all("STOPSIGNAL"); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("STOPSIGNAL %q, want SIGTERM", got)
	}
	if len(df.all("HEALTHCHECK")) > 0 {
		t.Error("HEALTHCHECK in a distroless image: there is nothing to run it with")
	}
}

// TestDockerfileGoVersion: the build image's Go must be at least go.mod's
// go directive, or the build fails (the image sets GOTOOLCHAIN=local).
func TestDockerfileGoVersion(t *testing.T) {
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)$`).FindStringSubmatch(string(readFile(t, repoFile(t, "go.mod"))))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	docker := loadDockerfile(t).args["GO_VERSION"]
	if compareVersions(docker, m[1]) < 0 {
		t.Errorf("Dockerfile GO_VERSION %s is older than go.mod's go %s", docker, m[1])
	}
}

// compareVersions compares dotted decimal versions.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(string(readFile(t, repoFile(t, ".dockerignore"))), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, must := range []string{".git", ".env"} {
		if !slices.Contains(patterns, must) {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	// The build needs these; excluding them breaks `docker build`.
	for _, p := range patterns {
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "*.go", "**/*.go"} {
			if strings.TrimPrefix(p, "/") == needed {
				t.Errorf(".dockerignore excludes %s, which the build needs", p)
			}
		}
	}
}
