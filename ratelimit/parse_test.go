package ratelimit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	withDefaults := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	for _, tt := range []struct {
		in   string
		want Config
	}{
		{"", DefaultConfig()},
		{" , ", DefaultConfig()},
		{"command=5/2s", withDefaults(func(c *Config) { c.Command = Rule{Limit: 5, Period: 2 * time.Second} })},
		{"command-block=30s, command-block-max=10m, command-block-memory=2h", withDefaults(func(c *Config) {
			c.CommandBlock = Backoff{Base: 30 * time.Second, Max: 10 * time.Minute, Memory: 2 * time.Hour}
		})},
		{"global=off, global.play=100/1s, global.balance=off", withDefaults(func(c *Config) {
			c.CommandGlobal = NoCeiling
			c.GlobalOverrides = map[string]Rule{"play": {Limit: 100, Period: time.Second}, "balance": NoCeiling}
		})},
		{"sensitive=5/10m,sensitive-block=30m,http=100/1m", withDefaults(func(c *Config) {
			c.Sensitive = Rule{Limit: 5, Period: 10 * time.Minute}
			c.SensitiveBlock = 30 * time.Minute
			c.HTTP = Rule{Limit: 100, Period: time.Minute}
		})},
		{"admin=10/1m", withDefaults(func(c *Config) { c.Admin = Rule{Limit: 10, Period: time.Minute} })},
	} {
		got, err := ParseConfig(tt.in)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseConfig(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseConfigRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, says string }{
		{"command", "want key=value"},
		{"command=", "want key=value"},
		{"=10/1s", "want key=value"},
		{"command=10", "<limit>/<period>"},
		{"command=ten/1s", "not a whole number"},
		{"command=0/1s", "at least 1"},
		{"command=10/0s", "positive duration"},
		{"command=10/fortnight", "positive duration"},
		{"command=off", "<limit>/<period>"},
		{"sensitive=off", "<limit>/<period>"},
		{"admin=off", "<limit>/<period>"},
		{"command=10/1s,command=20/1s", "given twice"},
		{"commands=10/1s", "unknown key"},
		{"global.bad name=1/1s", "global.bad name"},
		{"global.=1/1s", "global.:"},
		{"command-block=2h", "command-block (2h0m0s) is longer than command-block-max (1h0m0s)"},
		{"command-block-max=30s", "command-block (1m0s) is longer than command-block-max (30s)"},
		{"sensitive-block=-1h", "positive duration"},
		{"http=2000000/1s", "finer than one per microsecond"},
	} {
		_, err := ParseConfig(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParseConfig(%q) = %v, want an error saying %q", tt.in, err, tt.says)
		}
	}
}

// TestConfigStringRoundTrips: String writes what ParseConfig reads back,
// and the fingerprint tells policies apart but not the order of overrides.
func TestConfigStringRoundTrips(t *testing.T) {
	t.Parallel()
	d := DefaultConfig()
	if got, want := d.String(), "command=10/1s, command-block=1m, command-block-max=1h, command-block-memory=1h, "+
		"global=1000/1s, sensitive=3/5m, sensitive-block=1h, http=30/10s, admin=30/1m"; got != want {
		t.Errorf("DefaultConfig().String() = %q, want %q", got, want)
	}
	for _, in := range []string{
		"",
		"global=off, global.play=100/1s, global.balance=off",
		"command=7/1m30s, command-block=90s, command-block-max=2h30m, sensitive=5/1h1m1s, http=1/500ms",
	} {
		c, err := ParseConfig(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(c.String())
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Errorf("ParseConfig(%q).String() = %q reads back as %+v, %v", in, c.String(), back, err)
		}
	}
	a, _ := ParseConfig("global.play=100/1s, global.rob=5/1s")
	b, _ := ParseConfig("global.rob=5/1s, global.play=100/1s")
	c, _ := ParseConfig("global.rob=5/1s, global.play=101/1s")
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("the order of overrides changed the fingerprint")
	}
	if a.Fingerprint() == c.Fingerprint() || a.Fingerprint() == d.Fingerprint() {
		t.Error("different policies share a fingerprint")
	}
}
