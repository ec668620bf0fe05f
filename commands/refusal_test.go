package commands

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// TestUserMessage checks which errors reach the user and with what text:
// any refusal, however wrapped, with its own message; a UserError; nothing
// else.
func TestUserMessage(t *testing.T) {
	t.Parallel()
	busy := errors.New("busy")
	tests := []struct {
		name    string
		err     error
		message string // "" when the error is not for the user
		is      error
	}{
		{"a refusal", economy.ErrBankFull, economy.ErrBankFull.Message, economy.ErrBankFull},
		{"a wrapped refusal", fmt.Errorf("deposit: %w", economy.ErrBankFull), economy.ErrBankFull.Message, economy.ErrBankFull},
		{"Errorf", Errorf("No %d.", 3), "No 3.", ErrRefused},
		{"Explain on a refusal keeps its code", Explain(economy.ErrUnknownItem, "No such thing."), "No such thing.", economy.ErrUnknownItem},
		{"Explain on another error", Explain(busy, "Try again."), "Try again.", busy},
		{"fail on a wrapped refusal", fail(fmt.Errorf("economy: %w", economy.ErrSelfPay)), economy.ErrSelfPay.Message, economy.ErrSelfPay},
		{"fail on contention", fail(economy.ErrRetriesExhausted), "The economy is very busy right now; nothing was changed. Please try again.", economy.ErrRetriesExhausted},
		{"an internal error", fail(busy), "", busy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := UserMessage(tc.err)
			if ok != (tc.message != "") || msg != tc.message {
				t.Errorf("UserMessage = %q, %v; want %q", msg, ok, tc.message)
			}
			if IsUserError(tc.err) != ok {
				t.Errorf("IsUserError disagrees with UserMessage")
			}
			if !errors.Is(tc.err, tc.is) {
				t.Errorf("%v does not match %v", tc.err, tc.is)
			}
		})
	}
}
