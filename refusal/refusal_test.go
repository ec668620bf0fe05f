package refusal_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

var errFull = refusal.New("test_full", "The queue is full.")

func TestRefusal(t *testing.T) {
	specific := errFull.Withf("The queue is full (%d tracks).", 500)
	wrapped := fmt.Errorf("music: %w", specific)
	rebuilt := refusal.Rebuild("test_full", "The queue is full (500 tracks).")
	tests := []struct {
		name    string
		err     error
		is      bool
		message string
	}{
		{"declared", errFull, true, "The queue is full."},
		{"with a specific message", specific, true, "The queue is full (500 tracks)."},
		{"wrapped", wrapped, true, "The queue is full (500 tracks)."},
		{"rebuilt from the wire", rebuilt, true, "The queue is full (500 tracks)."},
		{"rebuilt without a message", refusal.Rebuild("test_full", ""), true, "The queue is full."},
		{"another code", refusal.Rebuild("test_other", ""), false, "That was refused."},
		{"not a refusal", errors.New("boom"), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, errFull); got != tc.is {
				t.Errorf("errors.Is = %v, want %v", got, tc.is)
			}
			r, ok := refusal.As(tc.err)
			if ok != (tc.message != "") {
				t.Fatalf("As = %v, %v", r, ok)
			}
			if ok && r.Message != tc.message {
				t.Errorf("message %q, want %q", r.Message, tc.message)
			}
		})
	}
	if e, ok := refusal.Lookup("test_full"); !ok || e != errFull {
		t.Errorf("Lookup = %v, %v", e, ok)
	}
}

func TestNewRefusesADuplicateCode(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a second declaration of a code was accepted")
		}
	}()
	refusal.New("test_full", "again")
}
