package ratelimit

import (
	"fmt"
	"slices"
	"testing"
)

// TestSplitReply decodes decideScript's packed codes, verdict + 4·rule +
// 256·µs, and refuses replies it cannot trust.
func TestSplitReply(t *testing.T) {
	const hour = 3_600_000_000 // µs, the longest block
	tests := []struct {
		name    string
		reply   []int64
		n       int
		want    [][]int64
		wantErr bool
	}{
		{"admitted", []int64{7, 1}, 1, [][]int64{{1, 0, 0}}, false},
		{"admitted hot", []int64{7, 1 + 4*2 + 256*1500}, 1, [][]int64{{1, 2, 1500}}, false},
		{"refused", []int64{7, 4*1 + 256*99}, 1, [][]int64{{0, 1, 99}}, false},
		{"violation mask", []int64{7, 2 + 4*0b101}, 1, [][]int64{{2, 0b101, 0}}, false},
		{"block of an hour", []int64{7, 3 + 4*1 + 256*hour}, 1, [][]int64{{3, 1, hour}}, false},
		{"two decisions", []int64{7, 1, 4 + 256}, 2, [][]int64{{1, 0, 0}, {0, 1, 1}}, false},
		{"too short", []int64{7}, 1, nil, true},
		{"too long", []int64{7, 1, 1}, 1, nil, true},
		{"negative code", []int64{7, -1}, 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitReply(tt.reply, tt.n)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
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
	rule := func(field string) ruleArg {
		return ruleArg{prof: profile{T: 100_000, tau: 900_000, G: 1_000_000}, field: field}
	}
	many := func(n int) []ruleArg {
		d := make([]ruleArg, n)
		for i := range d {
			d[i] = rule(fmt.Sprintf("{u:%d}:h", i))
		}
		return d
	}
	tests := []struct {
		name      string
		decisions [][]ruleArg
		wantErr   bool
	}{
		{"one rule", [][]ruleArg{many(1)}, false},
		{"six rules", [][]ruleArg{many(6)}, false},
		{"seven rules", [][]ruleArg{many(7)}, true},
		{"no rules", [][]ruleArg{{}}, true},
		{"255 fields", splitInto(many(255), 5), false},
		{"256 fields", splitInto(many(256), 4), true},
		{"repeated fields count once", [][]ruleArg{many(5), many(5), many(5)}, false},
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
			packed := args[len(args)-1].(string)
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
func splitInto(rules []ruleArg, n int) [][]ruleArg {
	var out [][]ruleArg
	for len(rules) > 0 {
		k := min(n, len(rules))
		out = append(out, rules[:k])
		rules = rules[k:]
	}
	return out
}
