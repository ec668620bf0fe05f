package economy

import (
	"fmt"
	"math"
	"strings"
)

// Amount is a parsed user amount: a fixed number of credits, or all or half
// of what is available, resolved inside the transaction that spends it.
type Amount struct {
	Value int64 // credits when neither All nor Half
	All   bool
	Half  bool
}

// Resolve returns the credits the amount stands for when avail are available.
func (a Amount) Resolve(avail int64) int64 {
	switch {
	case a.All:
		return avail
	case a.Half:
		return avail / 2
	}
	return a.Value
}

// String renders the amount as a user would type it.
func (a Amount) String() string {
	switch {
	case a.All:
		return "all"
	case a.Half:
		return "half"
	}
	return fmt.Sprint(a.Value)
}

// Exact returns a fixed amount of credits.
func Exact(v int64) Amount { return Amount{Value: v} }

var suffixes = map[byte]int64{'k': 1e3, 'm': 1e6, 'b': 1e9, 't': 1e12}

// ParseAmount parses `1500`, `1,500`, `1.5k`, `2m`, `3b`, `1t`, `all` and
// `half` (case-insensitive). A fixed amount must be a whole number of
// credits greater than zero that fits in an int64; anything else is
// ErrBadAmount or ErrOverflow (past int64), never a panic.
func ParseAmount(s string) (Amount, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "all", "max":
		return Amount{All: true}, nil
	case "half":
		return Amount{Half: true}, nil
	case "":
		return Amount{}, ErrBadAmount
	}
	mult := int64(1)
	if m, ok := suffixes[s[len(s)-1]]; ok {
		mult = m
		s = s[:len(s)-1]
	}
	s = strings.ReplaceAll(s, ",", "")
	s = strings.ReplaceAll(s, "_", "")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" {
		return Amount{}, ErrBadAmount
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return Amount{}, ErrBadAmount
			}
		}
	}
	// value = intPart*mult + frac*mult/10^len(frac), computed exactly.
	var v int64
	for i := 0; i < len(intPart); i++ {
		d := int64(intPart[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			return Amount{}, ErrOverflow
		}
		v = v*10 + d
	}
	if v > math.MaxInt64/mult {
		return Amount{}, ErrOverflow
	}
	v *= mult
	// The fraction must come out whole: trailing zeros are harmless.
	frac = strings.TrimRight(frac, "0")
	if frac != "" {
		scale := int64(1)
		var f int64
		for i := 0; i < len(frac); i++ {
			if scale > mult {
				return Amount{}, fmt.Errorf("%w (%s has more decimals than credits)", ErrBadAmount, s)
			}
			scale *= 10
			f = f*10 + int64(frac[i]-'0')
		}
		// f < scale <= mult*10 <= 1e13, so f*mult <= 1e25 could overflow:
		// divide first when exact.
		if mult%scale != 0 {
			return Amount{}, fmt.Errorf("%w (not a whole number of credits)", ErrBadAmount)
		}
		add := f * (mult / scale)
		if v > math.MaxInt64-add {
			return Amount{}, ErrOverflow
		}
		v += add
	}
	if v <= 0 {
		return Amount{}, ErrNonPositive
	}
	return Amount{Value: v}, nil
}
