// Package poll waits, in tests and test harnesses, for a condition that
// other goroutines or processes bring about: one Eventually for every
// package, so that timeouts and failure messages read the same everywhere.
package poll

import (
	"fmt"
	"time"
)

// Interval is how often Eventually checks its condition.
const Interval = 10 * time.Millisecond

// TB is the part of testing.TB that Eventually uses; a harness that is not
// a test (a benchmark program) can provide its own.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Condition is what Eventually waits for: a func() bool, or a
// func() (bool, string) whose string says why it does not hold yet, which
// the failure message quotes.
type Condition interface {
	func() bool | func() (bool, string)
}

// Eventually checks cond every Interval until it holds, and fails t with
// "timed out after <timeout> waiting for <format, args>" (and cond's last
// reason) once timeout has passed without it holding. Arguments of type
// *string are read when the message is built, so that a condition may
// record its last state in a variable the message quotes.
func Eventually[C Condition](t TB, timeout time.Duration, cond C, format string, args ...any) {
	t.Helper()
	if why, ok := Until(timeout, cond); !ok {
		for i, a := range args {
			if p, ok := a.(*string); ok {
				args[i] = *p
			}
		}
		msg := fmt.Sprintf("timed out after %v waiting for "+format, append([]any{timeout}, args...)...)
		if why != "" {
			msg += ": " + why
		}
		t.Fatalf("%s", msg)
	}
}

// Until checks cond every Interval for at most timeout and reports whether
// it held, and, when it did not, cond's last reason.
func Until[C Condition](timeout time.Duration, cond C) (why string, ok bool) {
	check := func() (bool, string) {
		switch c := any(cond).(type) {
		case func() bool:
			return c(), ""
		case func() (bool, string):
			return c()
		}
		panic("unreachable")
	}
	deadline := time.Now().Add(timeout)
	for {
		if ok, why = check(); ok {
			return "", true
		}
		if time.Now().After(deadline) {
			return why, false
		}
		time.Sleep(Interval)
	}
}
