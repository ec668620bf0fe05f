package economy

import (
	"testing"
	"time"
)

func TestTimersFrom(t *testing.T) {
	cat := DefaultCatalog()
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	today, yesterday := now.Add(-2*time.Hour), now.Add(-20*time.Hour)
	later := now.Add(30 * time.Minute)
	job := cat.Jobs[0]
	cases := []struct {
		name      string
		lastDaily *time.Time
		stored    map[string]time.Time
		comps     []companionTimes
		want      map[string]time.Time // action -> ready (zero: ready now)
	}{
		{"never played: all ready", nil, nil, nil, map[string]time.Time{ActionDaily: {}, ActionGather: {}, ActionWork(job.Key): {}}},
		{"claimed today: tomorrow 00:00 UTC", &today, nil, nil, map[string]time.Time{ActionDaily: dailyNext(now)}},
		{"claimed yesterday: ready", &yesterday, nil, nil, map[string]time.Time{ActionDaily: {}}},
		{"a job and gathering waiting", nil, map[string]time.Time{ActionWork(job.Key): later, ActionGather: later}, nil,
			map[string]time.Time{ActionWork(job.Key): later, ActionGather: later}},
		{"a companion training", nil, nil, []companionTimes{{ID: 7, Name: "Bolt", Train: &later}}, map[string]time.Time{"train:7": later}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := timersFrom(now, cat, tc.lastDaily, tc.stored, tc.comps)
			by := map[string]Timer{}
			seenWaiting := false
			for _, tm := range got {
				by[tm.Action] = tm
				if !tm.ReadyAt(now) {
					seenWaiting = true
				} else if seenWaiting {
					t.Errorf("ready timer %s listed after a waiting one", tm.Action)
				}
			}
			if len(got) < len(cat.Jobs)+2 {
				t.Errorf("%d timers, want daily, gather and every job", len(got))
			}
			for action, ready := range tc.want {
				tm, ok := by[action]
				if !ok {
					t.Fatalf("no timer %s in %+v", action, got)
				}
				if ready.IsZero() != tm.ReadyAt(now) || (!ready.IsZero() && !tm.Ready.Equal(ready)) {
					t.Errorf("%s ready %v, want %v", action, tm.Ready, ready)
				}
			}
		})
	}
}
