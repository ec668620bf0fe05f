package wire

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestSplitReply decodes decideScript's sparse replies of packed codes,
// verdict + 4·rule + 256·µs, and refuses replies it cannot trust.
func TestSplitReply(t *testing.T) {
	const hour = 3_600_000_000 // µs, the longest block
	tests := []struct {
		name    string
		reply   []int64
		n       int
		want    [][]int64
		wantErr bool
	}{
		{"admitted", []int64{7}, 1, [][]int64{{1, 0, 0}}, false},
		{"admitted hot", []int64{7, 1, 1 + 4*2 + 256*1500}, 1, [][]int64{{1, 2, 1500}}, false},
		{"refused", []int64{7, 1, 4*1 + 256*99}, 1, [][]int64{{0, 1, 99}}, false},
		{"violation mask", []int64{7, 1, 2 + 4*0b101}, 1, [][]int64{{2, 0b101, 0}}, false},
		{"block of an hour", []int64{7, 1, 3 + 4*1 + 256*hour}, 1, [][]int64{{3, 1, hour}}, false},
		{"second of three", []int64{7, 2, 4 + 256}, 3, [][]int64{{1, 0, 0}, {0, 1, 1}, {1, 0, 0}}, false},
		{"empty", []int64{}, 1, nil, true},
		{"half a pair", []int64{7, 1}, 1, nil, true},
		{"more pairs than decisions", []int64{7, 1, 4, 1, 4}, 1, nil, true},
		{"decision 0", []int64{7, 0, 4}, 1, nil, true},
		{"decision out of range", []int64{7, 2, 4}, 1, nil, true},
		{"negative code", []int64{7, 1, -1}, 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs, err := splitReply(tt.reply, tt.n)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var got [][]int64
			for _, o := range outs {
				got = append(got, []int64{int64(o.Verdict), o.Rule, o.Wait.Microseconds()})
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEncodeArgsLimits checks the bounds of what decideScript's packed
// bytes can number: a decision's rules, and a call's fields.
func TestEncodeArgsLimits(t *testing.T) {
	rule := func(field string) Rule {
		return Rule{Profile: Profile{T: 100_000, Tau: 900_000, G: 1_000_000}, Field: field}
	}
	many := func(n int) []Rule {
		d := make([]Rule, n)
		for i := range d {
			d[i] = rule(fmt.Sprintf("{u:%d}:h", i))
		}
		return d
	}
	tests := []struct {
		name      string
		decisions [][]Rule
		wantErr   bool
	}{
		{"one rule", [][]Rule{many(1)}, false},
		{"six rules", [][]Rule{many(6)}, false},
		{"seven rules", [][]Rule{many(7)}, true},
		{"no rules", [][]Rule{{}}, true},
		{"255 fields", splitInto(many(255), 5), false},
		{"256 fields", splitInto(many(256), 4), true},
		{"repeated fields count once", [][]Rule{many(5), many(5), many(5)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := encodeArgs(tt.decisions)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			packed := args[len(args)-3].(string)
			want := 0
			for _, d := range tt.decisions {
				want += 1 + 2*len(d)
			}
			if len(packed) != want {
				t.Fatalf("packed decisions are %d bytes, want %d", len(packed), want)
			}
		})
	}
}

// splitInto cuts rules into decisions of at most n rules.
func splitInto(rules []Rule, n int) [][]Rule {
	var out [][]Rule
	for len(rules) > 0 {
		k := min(n, len(rules))
		out = append(out, rules[:k])
		rules = rules[k:]
	}
	return out
}

// TestEncodeArgsShortcuts checks what encodeArgs offers the script's two
// shortcuts: the shared fields (with their profile and number of uses) and
// the simple form (per decision its own field, profile, place and shared
// field).
func TestEncodeArgsShortcuts(t *testing.T) {
	user := Profile{T: 100_000, Tau: 900_000, G: 1_000_000, Blocks: true}
	global := Profile{T: 1, Tau: 999_999, G: 1_000_000}
	other := Profile{T: 2, Tau: 999_998, G: 1_000_000}
	cmd := func(u string) []Rule { return []Rule{{user, u}, {global, "{g:work}"}} }
	tests := []struct {
		name           string
		decisions      [][]Rule
		shared, simple string
	}{
		// Fields are numbered in order of appearance; profiles too.
		{"one command", [][]Rule{cmd("{u:1}")}, "\x02\x02\x01", "\x01\x01\x01\x02"},
		{"one rule", [][]Rule{{{user, "{u:1}"}}}, "", "\x01\x01\x01\x00"},
		{"the blocking rule is the own one", [][]Rule{{{global, "{g:work}"}, {user, "{u:1}"}}},
			"\x01\x01\x01", "\x02\x02\x02\x01"},
		{"two commands", [][]Rule{cmd("{u:1}"), {{user, "{u:2}"}, {global, "{g:daily}"}}},
			"\x02\x02\x01" + "\x04\x02\x01", "\x01\x01\x01\x02" + "\x03\x01\x01\x04"},
		{"three rules: not simple", [][]Rule{append(cmd("{u:1}"), Rule{other, "{g:x}"})},
			"\x02\x02\x01" + "\x03\x03\x01", ""},
		{"commands share the ceiling", [][]Rule{cmd("{u:1}"), cmd("{u:2}"), cmd("{u:3}")},
			"\x02\x02\x03", "\x01\x01\x01\x02" + "\x03\x01\x01\x02" + "\x04\x01\x01\x02"},
		{"ceiling first", [][]Rule{{{global, "{g:work}"}, {user, "{u:1}"}}, cmd("{u:2}")},
			"\x01\x01\x02", "\x02\x02\x02\x01" + "\x03\x02\x01\x01"},
		{"a user twice: not simple", [][]Rule{cmd("{u:1}"), cmd("{u:1}")},
			"\x01\x01\x02" + "\x02\x02\x02", ""},
		{"one field twice in a decision: not listed", [][]Rule{{{user, "{u:1}"}, {user, "{u:1}"}}, {{user, "{u:1}"}}},
			"", ""},
		{"one field under two profiles: not listed", [][]Rule{{{global, "{g:work}"}}, {{other, "{g:work}"}}},
			"", ""},
		{"a decision of shared rules only: not simple", [][]Rule{{{global, "{g:work}"}}, {{global, "{g:work}"}}},
			"\x01\x01\x02", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := encodeArgs(tt.decisions)
			if err != nil {
				t.Fatal(err)
			}
			shared, simple := args[len(args)-2].(string), args[len(args)-1].(string)
			if shared != tt.shared || simple != tt.simple {
				t.Fatalf("shared %q simple %q, want %q and %q", shared, simple, tt.shared, tt.simple)
			}
		})
	}
}

// TestLatenessClamped: a time in the future counts as now, one older than
// MaxLateness as MaxLateness, the zero time as now.
func TestLateness(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		at   time.Time
		want time.Duration
	}{
		{time.Time{}, 0},
		{now.Add(time.Hour), 0},
		{now.Add(-100 * time.Millisecond), 0},
		{now.Add(-1500 * time.Millisecond), 1500 * time.Millisecond},
		{now.Add(-time.Hour), MaxLateness},
	} {
		if got := Lateness(tt.at, now); got != tt.want {
			t.Errorf("Lateness(%v before now) = %v, want %v", now.Sub(tt.at), got, tt.want)
		}
	}
}
