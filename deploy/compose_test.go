package deploy

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

type composeService struct {
	Image           string            `yaml:"image"`
	Build           any               `yaml:"build"`
	Command         any               `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Ports           []string          `yaml:"ports"`
	Volumes         []string          `yaml:"volumes"`
	Restart         string            `yaml:"restart"`
	StopSignal      string            `yaml:"stop_signal"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Labels          map[string]string `yaml:"labels"`
	DependsOn       map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	decodeYAML(t, repoFile(t, "docker-compose.yml"), &c)
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

var nodeServices = []string{"node1", "node2", "node3"}

func TestComposeHasTheWholeStack(t *testing.T) {
	c := loadCompose(t)
	want := append(slices.Clone(nodeServices), "migrate", "etcd", "postgres", "redis", "lavalink", "prometheus", "grafana", "loki", "alloy")
	for _, s := range want {
		if _, ok := c.Services[s]; !ok {
			t.Errorf("service %s missing", s)
		}
	}
}

var pinnedImage = regexp.MustCompile(`^[a-z0-9./-]+(:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*)?(@sha256:[0-9a-f]{64})?$`)

func TestComposeImagesArePinned(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		switch {
		case s.Build != nil:
			if s.Image != "chopsticks:local" {
				t.Errorf("%s: built image should be tagged chopsticks:local, is %q", name, s.Image)
			}
		case s.Image == "":
			t.Errorf("%s: no image", name)
		case !pinnedImage.MatchString(s.Image) || !strings.ContainsAny(s.Image, ":@") || strings.HasSuffix(s.Image, ":latest"):
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
	}
}

func TestComposeNodes(t *testing.T) {
	c := loadCompose(t)
	ids := make(map[string]bool)
	for _, name := range nodeServices {
		s := c.Services[name]
		t.Run(name, func(t *testing.T) {
			for _, v := range NodeEnv() {
				if _, ok := s.Environment[v.Name]; !ok && (v.Required || composeSetsItself[v.Name]) {
					t.Errorf("%s is not set", v.Name)
				}
			}
			for k := range s.Environment {
				if !slices.ContainsFunc(NodeEnv(), func(v EnvVar) bool { return v.Name == k }) {
					t.Errorf("%s is set but is not a variable of the node (see deploy.NodeEnv)", k)
				}
			}
			id := s.Environment["NODE_ID"]
			if ids[id] {
				t.Errorf("NODE_ID %q used twice", id)
			}
			ids[id] = true
			// Every address the node dials is a service of the stack.
			for _, seed := range strings.Split(s.Environment["GOSSIP_SEEDS"], ",") {
				host, _, _ := strings.Cut(seed, ":")
				if !slices.Contains(nodeServices, host) {
					t.Errorf("gossip seed %q is not a node service", seed)
				}
			}
			for _, k := range []string{"ETCD_ENDPOINTS", "POSTGRES_URL", "REDIS_URL"} {
				for _, raw := range strings.Split(stripInterpolation(s.Environment[k]), ",") {
					u, err := url.Parse(raw)
					if err != nil {
						t.Errorf("%s=%q: %v", k, s.Environment[k], err)
						continue
					}
					if _, ok := c.Services[u.Hostname()]; !ok {
						t.Errorf("%s points at %q, which is not a service", k, u.Hostname())
					}
				}
			}
			if got := s.Command; !slices.Equal(toStrings(got), []string{"node"}) {
				t.Errorf("command %v, want [node]", got)
			}
			if s.StopSignal != "SIGTERM" {
				t.Errorf("stop_signal %q, want SIGTERM (it starts the drain)", s.StopSignal)
			}
			if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d < 60*time.Second {
				t.Errorf("stop_grace_period %q: the drain needs at least 60s", s.StopGracePeriod)
			}
			if s.Labels["chopsticks.logs"] != "true" {
				t.Error("no label chopsticks.logs=true: Alloy would not ship its logs")
			}
			if s.DependsOn["migrate"].Condition != "service_completed_successfully" {
				t.Error("does not wait for the migrations")
			}
			if len(s.Ports) != 1 || !strings.HasSuffix(s.Ports[0], ":8080") {
				t.Errorf("ports %q: want the HTTP port published once", s.Ports)
			}
		})
	}
}

// stripInterpolation replaces ${...} with a placeholder so that a URL with
// an interpolated password parses.
func stripInterpolation(s string) string {
	return interpolation.ReplaceAllString(s, "x")
}

var interpolation = regexp.MustCompile(`\$\{[^}]*\}`)

func toStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func TestComposeDependenciesAndHealthchecks(t *testing.T) {
	c := loadCompose(t)
	conditions := []string{"service_started", "service_healthy", "service_completed_successfully"}
	for name, s := range c.Services {
		oneShot := s.Restart == "no"
		if !oneShot && s.Healthcheck == nil {
			t.Errorf("%s has no healthcheck", name)
		}
		if s.Healthcheck != nil && (len(s.Healthcheck.Test) < 2 || (s.Healthcheck.Test[0] != "CMD" && s.Healthcheck.Test[0] != "CMD-SHELL")) {
			t.Errorf("%s: healthcheck test %q", name, s.Healthcheck.Test)
		}
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			if !slices.Contains(conditions, d.Condition) {
				t.Errorf("%s -> %s: condition %q", name, dep, d.Condition)
			}
			if d.Condition == "service_healthy" && target.Healthcheck == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
			if d.Condition == "service_completed_successfully" && target.Restart != "no" {
				t.Errorf("%s waits for %s to complete, which restarts", name, dep)
			}
		}
	}
}

// TestComposeNodeHealthcheckCommandExists: the image is distroless, so the
// nodes' healthcheck runs the chopsticks binary itself. Its path must be the
// one the Dockerfile installs, and the subcommand must exist.
func TestComposeNodeHealthcheckCommandExists(t *testing.T) {
	test := loadCompose(t).Services["node1"].Healthcheck.Test
	if len(test) < 3 || test[0] != "CMD" {
		t.Fatalf("node healthcheck %q: want exec form [CMD, binary, subcommand, ...]", test)
	}
	if !strings.Contains(string(readFile(t, repoFile(t, "Dockerfile"))), "COPY --from=build /out/chopsticks "+test[1]+"\n") {
		t.Errorf("healthcheck runs %s, which the Dockerfile does not install", test[1])
	}
	sub := test[2]
	files, _ := filepath.Glob(repoFile(t, "cmd/chopsticks/*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if strings.Contains(string(readFile(t, f)), `subcommands["`+sub+`"]`) {
			return
		}
	}
	t.Errorf("docker-compose.yml probes nodes with `chopsticks %s`, but cmd/chopsticks registers no subcommand %q "+
		"(it must GET its -url, default http://127.0.0.1:8080/ready, and exit 0 on 2xx, 1 otherwise)", sub, sub)
}

func TestComposePortsAreLoopbackOnly(t *testing.T) {
	seen := make(map[string]string)
	for name, s := range loadCompose(t).Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q beyond loopback", name, p)
			}
			host := strings.Join(strings.Split(p, ":")[:2], ":")
			if other, dup := seen[host]; dup {
				t.Errorf("%s and %s both publish %s", name, other, host)
			}
			seen[host] = name
		}
	}
}

func TestComposeVolumesExist(t *testing.T) {
	c := loadCompose(t)
	used := make(map[string]bool)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, ok := strings.Cut(v, ":")
			if !ok {
				t.Errorf("%s: volume %q has no target", name, v)
				continue
			}
			switch {
			case strings.HasPrefix(src, "./"):
				if _, err := os.Stat(repoFile(t, src)); err != nil {
					t.Errorf("%s mounts %s, which is not in the repository", name, src)
				}
			case strings.HasPrefix(src, "/"):
				if src != "/var/run/docker.sock" {
					t.Errorf("%s mounts host path %s", name, src)
				}
				if !strings.HasSuffix(v, ":ro") {
					t.Errorf("%s mounts %s writable", name, src)
				}
			default:
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s uses volume %s, which is not declared", name, src)
				}
				used[src] = true
			}
		}
	}
	for v := range c.Volumes {
		if !used[v] {
			t.Errorf("volume %s is declared but unused", v)
		}
	}
}

// TestComposeVariablesAreInTheExample: every ${VAR} the Compose file reads
// from .env is in deploy/compose.env.example, and required ones say so.
func TestComposeVariablesAreInTheExample(t *testing.T) {
	src := string(readFile(t, repoFile(t, "docker-compose.yml")))
	example := make(map[string]bool)
	for _, k := range envFileKeys(t, repoFile(t, "deploy/compose.env.example")) {
		example[k] = true
	}
	ref := regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}`)
	refs := ref.FindAllStringSubmatch(src, -1)
	if len(refs) == 0 {
		t.Fatal("docker-compose.yml reads nothing from .env")
	}
	for _, m := range refs {
		if !example[m[1]] {
			t.Errorf("docker-compose.yml reads ${%s}, which deploy/compose.env.example does not name", m[1])
		}
	}
	for _, v := range NodeEnv() {
		if v.Required && !composeSetsItself[v.Name] && !strings.Contains(src, "${"+v.Name+":?") {
			t.Errorf("required %s is not read with ${%s:?...}, so a missing value would start a broken node", v.Name, v.Name)
		}
	}
}

// TestComposeConfig runs the real Compose parser (`docker compose config`)
// when a Compose CLI is available: the docker plugin, a docker-compose
// binary, or the one deploy/compose/build-compose.sh builds.
func TestComposeConfig(t *testing.T) {
	var argv []string
	if docker, err := exec.LookPath("docker"); err == nil {
		if out, err := run(t, t.TempDir(), docker, "compose", "version"); err == nil && strings.Contains(out, "version") {
			argv = []string{docker, "compose"}
		}
	}
	if argv == nil {
		if p := cachedTool("DOCKER_COMPOSE", "docker-compose", "compose-v5.6.0/docker-compose"); p != "" {
			argv = []string{p}
		}
	}
	if argv == nil {
		t.Log("no Compose CLI here (docker compose plugin missing); build one with deploy/compose/build-compose.sh. " +
			"The structural checks above still ran.")
		return
	}
	// A filled-in copy of the example, as an operator would write it.
	env := filepath.Join(t.TempDir(), "test.env")
	var b strings.Builder
	for _, k := range envFileKeys(t, repoFile(t, "deploy/compose.env.example")) {
		b.WriteString(k + "=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n")
	}
	writeFile(t, env, []byte(b.String()))
	args := append(argv[1:], "--project-directory", repoRoot(t), "-f", repoFile(t, "docker-compose.yml"), "--env-file", env, "config", "--quiet")
	out, err := run(t, repoRoot(t), argv[0], args...)
	if err != nil {
		t.Fatalf("%s config: %v\n%s", strings.Join(argv, " "), err, out)
	}
	// And without the required values it must refuse.
	empty := filepath.Join(t.TempDir(), "empty.env")
	writeFile(t, empty, nil)
	args = append(argv[1:], "--project-directory", repoRoot(t), "-f", repoFile(t, "docker-compose.yml"), "--env-file", empty, "config", "--quiet")
	if out, err := run(t, t.TempDir(), argv[0], args...); err == nil || !strings.Contains(out, "in .env") {
		t.Errorf("compose config accepted an empty .env (err %v):\n%s", err, out)
	}
}

// TestAlloyConfigWiring checks the Alloy configuration as far as this
// machine can (no Alloy binary, and its syntax module is not on the Go
// proxy): braces balance, every component is defined once, and every
// reference to a component's export names a defined component.
func TestAlloyConfigWiring(t *testing.T) {
	src := checkAlloyWiring(t, "deploy/compose/alloy/config.alloy",
		"discovery.docker.containers", "loki.source.docker.containers", "loki.process.json", "loki.write.loki")
	// It pushes to the Loki service of the stack.
	if !strings.Contains(src, `url = "http://loki:3100/loki/api/v1/push"`) {
		t.Error("loki.write does not push to http://loki:3100")
	}
	// The label it selects containers by is the one the nodes carry.
	if !strings.Contains(src, `"chopsticks.logs=true"`) {
		t.Error("discovery.docker does not select chopsticks.logs=true")
	}
}

// checkAlloyWiring checks an Alloy file as far as this machine can (no
// Alloy binary, and its syntax module is not on the Go proxy): braces
// balance, every component is defined once, the components want are
// defined, and every reference to a component's export names a defined
// component. It returns the file's text.
func checkAlloyWiring(t *testing.T, rel string, want ...string) string {
	t.Helper()
	src := string(readFile(t, repoFile(t, rel)))
	var code strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		code.WriteString(line + "\n")
	}
	body := regexp.MustCompile(`"[^"\n]*"`).ReplaceAllString(code.String(), `""`)
	if strings.Count(body, "{") != strings.Count(body, "}") {
		t.Fatalf("%s: unbalanced braces", rel)
	}
	defined := make(map[string]bool)
	for _, m := range regexp.MustCompile(`(?m)^([a-z_]+\.[a-z_.]+) "([a-z_]+)" \{`).FindAllStringSubmatch(code.String(), -1) {
		id := m[1] + "." + m[2]
		if defined[id] {
			t.Errorf("%s: component %s defined twice", rel, id)
		}
		defined[id] = true
	}
	for _, w := range want {
		if !defined[w] {
			t.Errorf("%s: component %s is not defined", rel, w)
		}
	}
	refs := regexp.MustCompile(`= \[?([a-z_]+\.[a-z_.]+)\.(receiver|targets|rules|output)\b`).FindAllStringSubmatch(body, -1)
	if len(refs) == 0 {
		t.Fatalf("%s: no component references found", rel)
	}
	for _, m := range refs {
		if !defined[m[1]] {
			t.Errorf("%s: reference to %s.%s, which is not defined", rel, m[1], m[2])
		}
	}
	return src
}

func TestLavalinkConfig(t *testing.T) {
	var cfg struct {
		Server struct {
			Port int `yaml:"port"`
		} `yaml:"server"`
		Lavalink struct {
			Server struct {
				Password string          `yaml:"password"`
				Sources  map[string]bool `yaml:"sources"`
			} `yaml:"server"`
		} `yaml:"lavalink"`
	}
	decodeYAML(t, repoFile(t, "deploy/compose/lavalink/application.yml"), &cfg)
	if cfg.Server.Port != 2333 {
		t.Errorf("Lavalink port %d, want 2333 (LAVALINK_NODES and the healthcheck use it)", cfg.Server.Port)
	}
	if cfg.Lavalink.Server.Password != "" {
		t.Error("the Lavalink password is in the file; it comes from LAVALINK_SERVER_PASSWORD")
	}
	if len(cfg.Lavalink.Server.Sources) == 0 {
		t.Error("no audio sources configured")
	}
}
