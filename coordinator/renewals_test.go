package coordinator

import (
	"testing"
	"time"
)

// TestRenewalsBound checks the bound on a lease's last renewal drawn from
// etcd's whole-second TimeToLive readings, and that renewals are seen.
func TestRenewalsBound(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type reading struct {
		at  time.Time
		ttl int64
	}
	for _, tt := range []struct {
		name     string
		granted  int64
		readings []reading
		renewed  bool          // the last reading shows a renewal
		silent   time.Duration // silentFor at the last reading
	}{
		{"no bound while renewed within the last second", 5,
			[]reading{{ms(0), 4}, {ms(50), 4}, {ms(100), 4}}, false, 0},
		{"a reading of 3 bounds the renewal to a second before", 5,
			[]reading{{ms(0), 4}, {ms(500), 3}}, false, time.Second},
		{"the first drop to 2 pins the renewal two seconds back", 5,
			[]reading{{ms(0), 3}, {ms(900), 3}, {ms(950), 2}, {ms(1450), 2}}, false, 2500 * time.Millisecond},
		{"the tightest bound holds", 5,
			[]reading{{ms(0), 3}, {ms(400), 3}}, false, 1400 * time.Millisecond},
		{"back to granted-1 after a low reading is a renewal", 5,
			[]reading{{ms(0), 3}, {ms(50), 4}}, true, time.Second + 50*time.Millisecond},
		{"a higher low reading is a renewal", 5,
			[]reading{{ms(0), 2}, {ms(50), 3}}, true, 2050 * time.Millisecond},
		{"a long lease", 30,
			[]reading{{ms(0), 29}, {ms(1000), 28}, {ms(4000), 25}}, false, 4 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r renewals
			var renewed bool
			for _, rd := range tt.readings {
				renewed = r.observe(rd.at, rd.ttl, tt.granted)
			}
			last := tt.readings[len(tt.readings)-1].at
			if renewed != tt.renewed {
				t.Errorf("renewed = %v, want %v", renewed, tt.renewed)
			}
			if got := r.silentFor(last); got != tt.silent {
				t.Errorf("silentFor = %v, want %v", got, tt.silent)
			}
		})
	}
}
