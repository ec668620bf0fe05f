package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unitFile = "deploy/systemd/chopsticks.service"

// unitDirectives returns a unit file's directives as section.Key -> values
// in order (a key may repeat).
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	d := make(map[string][]string)
	section := ""
	for i, line := range strings.Split(string(readFile(t, path)), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf("%s:%d: not a directive: %q", path, i+1, line)
				continue
			}
			d[section+"."+strings.TrimSpace(k)] = append(d[section+"."+strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return d
}

func TestSystemdUnitIsHardened(t *testing.T) {
	d := unitDirectives(t, repoFile(t, unitFile))
	want := map[string]string{
		"Service.ExecStart":               "/usr/local/bin/chopsticks node",
		"Service.EnvironmentFile":         "/etc/chopsticks/chopsticks.env",
		"Service.Restart":                 "on-failure",
		"Service.KillSignal":              "SIGTERM",
		"Service.DynamicUser":             "yes",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "yes",
		"Service.NoNewPrivileges":         "yes",
		"Service.PrivateTmp":              "yes",
		"Service.PrivateDevices":          "yes",
		"Service.CapabilityBoundingSet":   "",
		"Service.AmbientCapabilities":     "",
		"Service.SystemCallArchitectures": "native",
		"Service.MemoryDenyWriteExecute":  "yes",
		"Install.WantedBy":                "multi-user.target",
	}
	for k, v := range want {
		got, ok := d[k]
		if !ok || got[len(got)-1] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if u := d["Service.User"]; len(u) == 0 || u[0] == "root" {
		t.Errorf("User = %q: want a dedicated user", u)
	}
	if !slices.Contains(d["Service.SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter %q lacks @system-service", d["Service.SystemCallFilter"])
	}
	families := strings.Fields(strings.Join(d["Service.RestrictAddressFamilies"], " "))
	for _, f := range []string{"AF_INET", "AF_INET6"} {
		if !slices.Contains(families, f) {
			t.Errorf("RestrictAddressFamilies %q lacks %s", families, f)
		}
	}
	if slices.Contains(families, "AF_PACKET") {
		t.Error("RestrictAddressFamilies allows raw packets")
	}
	stop, err := time.ParseDuration(strings.Join(d["Service.TimeoutStopSec"], ""))
	if err != nil || stop < 60*time.Second {
		t.Errorf("TimeoutStopSec %q: the drain needs at least 60s", d["Service.TimeoutStopSec"])
	}
}

// verifiableUnit copies the unit into a temporary directory with its
// executables and environment file pointing at stand-ins that exist, as
// systemd-analyze verify requires, and returns the copy's path.
func verifiableUnit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "chopsticks")
	writeFile(t, bin, []byte("#!/bin/sh\nexit 0\n"))
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "chopsticks.env")
	writeFile(t, env, readFile(t, repoFile(t, "deploy/systemd/chopsticks.env.example")))
	unit := string(readFile(t, repoFile(t, unitFile)))
	if !strings.Contains(unit, "/usr/local/bin/chopsticks") || !strings.Contains(unit, "/etc/chopsticks/chopsticks.env") {
		t.Fatal("the unit no longer uses /usr/local/bin/chopsticks and /etc/chopsticks/chopsticks.env; update this test")
	}
	unit = strings.NewReplacer("/usr/local/bin/chopsticks", bin, "/etc/chopsticks/chopsticks.env", env).Replace(unit)
	path := filepath.Join(dir, "chopsticks.service")
	writeFile(t, path, []byte(unit))
	return path
}

// TestSystemdAnalyzeVerify: systemd-analyze verify exits 0 even for unknown
// or malformed directives (it only warns), so any output is a failure.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "apt-get install -y systemd")
	path := verifiableUnit(t)
	out, err := run(t, filepath.Dir(path), analyze, "verify", path)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	// And it does catch a mistake, so the check above means something.
	bad := strings.Replace(string(readFile(t, path)), "ProtectSystem=strict", "ProtectSystm=strict", 1)
	writeFile(t, path, []byte(bad))
	out, _ = run(t, filepath.Dir(path), analyze, "verify", path)
	if !strings.Contains(out, "ProtectSystm") {
		t.Errorf("systemd-analyze verify did not report a misspelt directive:\n%s", out)
	}
}

// TestSystemdExposure holds the unit to an exposure score of at most 2.0 of
// 10 in `systemd-analyze security` (lower is safer).
func TestSystemdExposure(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "apt-get install -y systemd")
	path := verifiableUnit(t)
	out, err := run(t, filepath.Dir(path), analyze, "security", "--offline=yes", path)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level (err %v):\n%s", err, out)
	}
	score, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	if score > 2.0 {
		t.Errorf("exposure %.1f, want at most 2.0:\n%s", score, out)
	}
	t.Logf("systemd-analyze security exposure: %.1f", score)
}
