package loadgen

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

func TestDefaultMixIsAboutHalfWrites(t *testing.T) {
	if s := WriteShare(DefaultMix); s < 0.45 || s > 0.6 {
		t.Errorf("the default mix writes %.0f%%, want about half", 100*s)
	}
}

func TestPickerFollowsWeights(t *testing.T) {
	mix := []Step{{Name: "a", Weight: 1, Command: "a"}, {Name: "b", Weight: 3, Command: "b"}, {Name: "never", Weight: 0, Command: "c"}}
	p, err := newPicker(mix)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	counts := make([]int, len(mix))
	const n = 40000
	for range n {
		counts[p.pick(r)]++
	}
	if counts[2] != 0 {
		t.Errorf("a step of weight 0 was picked %d times", counts[2])
	}
	if share := float64(counts[1]) / n; share < 0.73 || share > 0.77 {
		t.Errorf("weight 3 of 4 got %.3f of the picks", share)
	}
	if _, err := newPicker([]Step{{Name: "x", Command: "x"}}); err == nil {
		t.Error("a mix with no weight was accepted")
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.99, 0},
		{ms(5), 0.5, 5 * time.Millisecond},
		{ms(4, 1, 3, 2), 0.5, 2 * time.Millisecond},
		{ms(4, 1, 3, 2), 1, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.95, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := percentile(tc.in, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	resp := func(typ int, content string, flags int) discordsim.Response {
		b, _ := json.Marshal(map[string]any{"content": content, "flags": flags})
		return discordsim.Response{Type: typ, Data: b}
	}
	tests := []struct {
		name string
		resp discordsim.Response
		want string
	}{
		{"a reply", resp(4, "You have 5 credits", 0), kindOK},
		{"a deferral", discordsim.Response{Type: 5}, kindOK},
		{"a private deferral", resp(5, "", 64), kindOK},
		{"a refusal", resp(4, "You can claim your daily again in 3h.", 64), kindRefused},
		{"the limiter", resp(4, "You're going too fast. Try again in 2s.", 64), kindRateLimited},
		{"our error", resp(4, "Something went wrong on our side. Please try again in a moment.", 64), kindError},
	}
	for _, tc := range tests {
		if got := classify(tc.resp); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStepInvocation(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ch := choices{"work/job": {"miner", "chef"}, "buy/item": {"coffee"}, "leaderboard/board": {"wealth"}}
	const guild, user, other = discordsim.Snowflake(1), discordsim.Snowflake(2), discordsim.Snowflake(3)
	for _, s := range DefaultMix {
		inv, err := s.invocation(r, ch, guild, user, other)
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		if inv.Command != s.Command || inv.Subcommand != s.Subcommand || inv.GuildID != guild || inv.UserID != user {
			t.Errorf("%s: %+v", s.Name, inv)
		}
		for name, v := range inv.Options {
			if v == "$other" || v == "$choice" {
				t.Errorf("%s: option %s left as %v", s.Name, name, v)
			}
		}
	}
	pay := Step{Command: "pay", Options: map[string]any{"user": "$other"}}
	if _, err := pay.invocation(r, ch, guild, user, 0); err != errNoOther {
		t.Errorf("pay without another member: %v", err)
	}
	bad := Step{Command: "sell", Options: map[string]any{"item": "$choice"}}
	if _, err := bad.invocation(r, ch, guild, user, other); err == nil {
		t.Error("a $choice of an option with no choices was accepted")
	}
}
