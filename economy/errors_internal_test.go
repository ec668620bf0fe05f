package economy

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// TestStoredRefusal checks that a refusal stored with an operation comes
// back from its JSON with the same code and message, and that a cooldown
// keeps its ready time (the cooldown cache learns it from a replay too).
func TestStoredRefusal(t *testing.T) {
	until := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		err     error
		is      error
		message string
		until   bool
	}{
		{"declared", ErrBankFull, ErrBankFull, ErrBankFull.Message, false},
		{"with a specific message", ErrNotEnoughItems.With("You have only 2 Pickaxes."), ErrNotEnoughItems, "You have only 2 Pickaxes.", false},
		{"cooldown", cooldownRefusal("your daily", until), ErrCooldown, "Not yet: your daily is ready <t:1796688000:R>.", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se, ok := encodeRefusal(tc.err)
			if !ok {
				t.Fatal("not encoded as a refusal")
			}
			b, err := json.Marshal(se)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeResult(b, nil)
			if !errors.Is(got, tc.is) {
				t.Errorf("%v does not match %v", got, tc.is)
			}
			r, ok := refusal.As(got)
			if !ok || r.Message != tc.message {
				t.Errorf("message %q (refusal %v), want %q", got, ok, tc.message)
			}
			if at, ok := ReadyAt(got); ok != tc.until || ok && !at.Equal(until) {
				t.Errorf("ReadyAt = %v, %v", at, ok)
			}
		})
	}
}

// TestStoredRefusalFromOlderRows reads results stored before messages
// were: the code alone, and a cooldown as action and time.
func TestStoredRefusalFromOlderRows(t *testing.T) {
	tests := []struct {
		stored  string
		is      error
		message string
	}{
		{`{"err":"bank_full"}`, ErrBankFull, ErrBankFull.Message},
		{`{"err":"cooldown","action":"gathering","until":"2026-12-08T00:00:00Z"}`, ErrCooldown, "Not yet: gathering is ready <t:1796688000:R>."},
		{`{"err":"from_a_newer_node"}`, nil, "That was refused."},
	}
	for _, tc := range tests {
		got := decodeResult([]byte(tc.stored), nil)
		if tc.is != nil && !errors.Is(got, tc.is) {
			t.Errorf("%s: %v does not match %v", tc.stored, got, tc.is)
		}
		if r, ok := refusal.As(got); !ok || r.Message != tc.message {
			t.Errorf("%s: %q, want %q", tc.stored, got, tc.message)
		}
	}
}

func TestEncodeRefusalIgnoresOtherErrors(t *testing.T) {
	if _, ok := encodeRefusal(ErrRetriesExhausted); ok {
		t.Error("contention was stored as a refusal")
	}
}
