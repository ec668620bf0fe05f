package discordrest

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestConfigDefaults: zero fields take the defaults documented on Config,
// and unusable settings are refused.
func TestConfigDefaults(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // New makes no call
	t.Cleanup(func() { _ = rdb.Close() })
	tr, err := New(nil, rdb, Config{Name: "app1"})
	if err != nil {
		t.Fatal(err)
	}
	c := tr.cfg
	if c.GlobalLimit != 50 || c.GlobalPeriod != time.Second || c.Margin != 400*time.Microsecond ||
		c.MaxRetries != 3 || c.InvalidBudget != 10_000 || c.InvalidWindow != 10*time.Minute ||
		c.ProbeTimeout != 2*time.Second || c.Logger == nil || c.LiveNodes == nil || c.LiveNodes() != 1 || c.Registerer != nil {
		t.Fatalf("Config{Name} filled as %+v", c)
	}
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{}},
		{"negative limit", Config{Name: "app1", GlobalLimit: -1}},
		{"negative retries", Config{Name: "app1", MaxRetries: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(nil, rdb, tt.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
