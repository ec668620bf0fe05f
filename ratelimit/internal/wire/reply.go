package wire

import (
	"fmt"
	"time"
)

// Verdict is how the decide script answered one decision.
type Verdict int64

// The decide script's verdicts, as it codes them.
const (
	// Refused: the non-blocking rule Outcome.Rule refused; retry after Wait.
	Refused Verdict = 0
	// Admitted: the decision went through. A non-zero Outcome.Rule is a
	// non-blocking rule now known to refuse for Wait whatever other nodes
	// do (its TAT only grows).
	Admitted Verdict = 1
	// Violated: the blocking rules in the bit mask Outcome.Rule (bit i-1
	// for rule i) refused; the caller imposes their blocks with Block.
	Violated Verdict = 2
	// Blocked: the running block of rule Outcome.Rule refused, Wait left.
	Blocked Verdict = 3
)

// Outcome is one decision's answer. Rule numbers the decision's rules from
// 1 in the order they were sent (0: none), except for Violated.
type Outcome struct {
	Verdict Verdict
	Rule    int64
	Wait    time.Duration
}

// splitReply expands a decideScript reply, {now} then (decision, code)
// pairs for the decisions not plainly admitted, code = verdict + 4·rule +
// 256·µs, into one Outcome per decision.
func splitReply(r []int64, n int) ([]Outcome, error) {
	if len(r) < 1 || len(r)%2 != 1 || len(r) > 1+2*n {
		return nil, fmt.Errorf("ratelimit: script reply has %d values for %d decisions", len(r), n)
	}
	out := make([]Outcome, n)
	for i := range out {
		out[i].Verdict = Admitted
	}
	for i := 1; i < len(r); i += 2 {
		j, code := r[i], r[i+1]
		if j < 1 || j > int64(n) || code < 0 {
			return nil, fmt.Errorf("ratelimit: script reply has code %d for decision %d of %d", code, j, n)
		}
		out[j-1] = Outcome{Verdict: Verdict(code & 3), Rule: code >> 2 & 63, Wait: time.Duration(code>>8) * time.Microsecond}
	}
	return out, nil
}
