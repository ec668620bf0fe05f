package wire

import (
	"fmt"
	"time"
)

// Profile is one rule's parameters as the decide script takes them, in µs:
// GCRA's emission interval T and tolerance Tau, and the rule's period G
// (T+Tau, the furthest a TAT can run ahead of now), which names the
// generation hashes its state lives in. Blocks tells whether a violation
// earns a block (the caller imposes it with Block) rather than a refusal.
type Profile struct {
	T, Tau, G int64
	Blocks    bool
}

// Rule is one rule of one decision: its profile and its field in the
// generation hashes ("<subject tag><rule suffix>").
type Rule struct {
	Profile Profile
	Field   string
}

// maxPacked bounds the distinct fields and profiles of one decideScript
// call: each is numbered in a byte. MaxRules bounds one decision's rules:
// the reply holds a bit mask of them in six bits.
const (
	maxPacked = 255
	MaxRules  = 6
)

// MaxLateness bounds how late a decision is judged (see Lateness): the
// script takes lateness in milliseconds as two bytes.
const MaxLateness = 10 * time.Second

// lateFloor is the least lateness that counts: the usual delivery delay
// (tens of milliseconds) is judged as now, which keeps the decision
// script's shortcuts for ordinary traffic.
const lateFloor = 250 * time.Millisecond

// Lateness is how long before now a use made at at was made, within
// [0, MaxLateness], to the millisecond; the zero time, a time in the
// future and one less than lateFloor ago are now.
func Lateness(at, now time.Time) time.Duration {
	if at.IsZero() || now.Sub(at) < lateFloor {
		return 0
	}
	return min(now.Sub(at), MaxLateness).Truncate(time.Millisecond)
}

// encodeArgs builds decideScript's ARGV for decisions: every distinct
// period, field and profile is sent once, and the decisions, packed into
// bytes, refer to them by number. Each decision's own rule is the one
// likeliest to refuse: on a field no other decision uses, blocking if any
// is. Its other rules, on fields used at most once per decision and always
// with the same profile (a command's global ceiling), are listed for the
// script's fast path with their number of uses; when every decision has
// its own rule and at most one other, the batch is also sent in the simple
// form.
func encodeArgs(decisions [][]Rule) ([]any, error) {
	type period struct {
		G      int64
		fields []string
		index  map[string]int // field -> position in fields
	}
	type use struct {
		prof     Profile
		n        int // decisions using the field
		last     int // the last of them
		sharable bool
		listed   bool // in the candidates for the fast path
	}
	var (
		periods []*period
		byG     = make(map[int64]*period, 2)
		profs   []Profile
		byProf  = make(map[Profile]int, 2)
		uses    = make(map[string]*use, len(decisions)+2)
		nfields int
		n       int
	)
	for di, d := range decisions {
		if len(d) == 0 || len(d) > MaxRules {
			return nil, fmt.Errorf("ratelimit: a decision with %d rules", len(d))
		}
		n += 1 + 2*len(d)
		for _, r := range d {
			pd := byG[r.Profile.G]
			if pd == nil {
				pd = &period{G: r.Profile.G, index: map[string]int{}}
				byG[r.Profile.G] = pd
				periods = append(periods, pd)
			}
			if _, ok := pd.index[r.Field]; !ok {
				pd.index[r.Field] = len(pd.fields)
				pd.fields = append(pd.fields, r.Field)
				nfields++
			}
			if _, ok := byProf[r.Profile]; !ok {
				profs = append(profs, r.Profile)
				byProf[r.Profile] = len(profs)
			}
			switch u := uses[r.Field]; {
			case u == nil:
				uses[r.Field] = &use{prof: r.Profile, n: 1, last: di, sharable: true}
			case u.last == di || u.prof != r.Profile:
				u.n, u.sharable = u.n+1, false
			default:
				u.n, u.last = u.n+1, di
			}
		}
	}
	if nfields > maxPacked || len(profs) > maxPacked {
		return nil, fmt.Errorf("ratelimit: %d fields and %d profiles in one call, more than %d", nfields, len(profs), maxPacked)
	}
	meta := make([]byte, 0, 2+len(periods)+len(profs))
	meta = append(meta, byte(len(periods)))
	for _, pd := range periods {
		meta = append(meta, byte(len(pd.fields)))
	}
	meta = append(meta, byte(len(profs)))
	for _, p := range profs {
		blocks := byte(0)
		if p.Blocks {
			blocks = 1
		}
		meta = append(meta, blocks)
	}
	args := make([]any, 0, 4+len(periods)+nfields+2*len(profs))
	args = append(args, string(meta))
	offset := make(map[int64]int, len(periods)) // G -> number of the period's first field, minus one
	next := 0
	for _, pd := range periods {
		offset[pd.G] = next
		next += len(pd.fields)
		args = append(args, pd.G)
		for _, f := range pd.fields {
			args = append(args, f)
		}
	}
	for _, p := range profs {
		args = append(args, p.T, p.Tau)
	}
	number := func(r Rule) byte { return byte(offset[r.Profile.G] + byG[r.Profile.G].index[r.Field] + 1) }
	packed := make([]byte, 0, n)
	simple := make([]byte, 0, 4*len(decisions))
	var sharedList []byte
	for _, d := range decisions {
		packed = append(packed, byte(len(d)))
		own := -1 // the rule likeliest to refuse: one of its own, blocking if any
		for i, r := range d {
			packed = append(packed, byte(byProf[r.Profile]), number(r))
			if uses[r.Field].n == 1 && (own < 0 || r.Profile.Blocks && !d[own].Profile.Blocks) {
				own = i
			}
		}
		// Every other rule is a candidate for the fast path; the decision
		// is simple if it has its own rule and at most one other.
		sh, ok := byte(0), own >= 0
		for i, r := range d {
			if i == own {
				continue
			}
			u := uses[r.Field]
			if !u.sharable || u.n > maxPacked {
				ok = false
				continue
			}
			if !u.listed {
				u.listed = true
				sharedList = append(sharedList, number(r), byte(byProf[r.Profile]), byte(u.n))
			}
			if sh != 0 {
				ok = false
			}
			sh = number(r)
		}
		if simple != nil && ok {
			simple = append(simple, number(d[own]), byte(byProf[d[own].Profile]), byte(own+1), sh)
		} else {
			simple = nil
		}
	}
	return append(args, string(packed), string(sharedList), string(simple)), nil
}

// encodeArgsLate is encodeArgs with, per decision, how late it is (see
// Lateness): two bytes of milliseconds each, sent only when one is.
func encodeArgsLate(decisions [][]Rule, late []time.Duration) ([]any, error) {
	args, err := encodeArgs(decisions)
	if err != nil {
		return nil, err
	}
	some := false
	for _, d := range late {
		some = some || d >= time.Millisecond
	}
	if !some {
		return args, nil
	}
	b := make([]byte, 2*len(decisions))
	for i, d := range late {
		ms := min(d.Milliseconds(), 0xFFFF)
		b[2*i], b[2*i+1] = byte(ms>>8), byte(ms)
	}
	return append(args, string(b)), nil
}
