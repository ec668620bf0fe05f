package harness

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
)

// Trial is the TB of a program that is not a test (a benchmark): it
// records failures, and Fatalf ends the trial's goroutine as testing.T's
// does. Run it with RunTrial, which runs its cleanups when it ends.
type Trial struct {
	log io.Writer

	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

// RunTrial runs f as one trial on a goroutine of its own, then the
// trial's cleanups, last registered first, and returns the trial's
// failures joined (nil when there were none). What the harness logs (the
// node logs of a failed run) goes to log, or nowhere when log is nil.
func RunTrial(log io.Writer, f func(t *Trial)) error {
	t := &Trial{log: log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(t.cleanups) - 1; i >= 0; i-- {
				t.cleanups[i]()
			}
		}()
		f(t)
	}()
	<-done
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(t.errs, "; "))
}

// Helper does nothing; it is there for TB.
func (t *Trial) Helper() {}

// Errorf records a failure.
func (t *Trial) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the trial's goroutine.
func (t *Trial) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

// Logf writes a line to the trial's log, if it has one.
func (t *Trial) Logf(format string, args ...any) {
	if t.log != nil {
		fmt.Fprintf(t.log, format+"\n", args...)
	}
}

// Cleanup registers f to run when the trial ends.
func (t *Trial) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// Failed reports whether the trial has recorded a failure.
func (t *Trial) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.errs) > 0
}
