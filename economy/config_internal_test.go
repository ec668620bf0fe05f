package economy

import (
	"testing"
	"time"
)

// TestConfigZeroValueMeansTheDocumentedDefaults: each field of a zero
// Config stands for the default its comment gives, and a field that is set
// is kept.
func TestConfigZeroValueMeansTheDocumentedDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got.Catalog == nil || got.Now == nil || got.Rand == nil {
		t.Fatalf("zero Config left a default unset: %+v", got)
	}
	if got.MaxAttempts != DefaultMaxAttempts {
		t.Errorf("MaxAttempts = %d, want DefaultMaxAttempts (%d)", got.MaxAttempts, DefaultMaxAttempts)
	}
	if got.Cooldowns != nil || got.Registerer != nil {
		t.Errorf("optional parts were filled in: %+v", got)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	set := Config{MaxAttempts: 3, Now: func() time.Time { return at }}.withDefaults()
	if set.MaxAttempts != 3 || !set.Now().Equal(at) {
		t.Errorf("set fields were replaced: MaxAttempts %d, Now %v", set.MaxAttempts, set.Now())
	}
	s, err := New(nil, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.maxAttempts != DefaultMaxAttempts || s.cat == nil {
		t.Errorf("New(nil, Config{}): maxAttempts %d, catalog %v", s.maxAttempts, s.cat)
	}
}
