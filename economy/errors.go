package economy

import (
	"errors"
	"time"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// The economy's refusals: the command changed nothing and the message, written
// for users, says why. Each has a stable code, stored with the operation so
// that a replay returns the same refusal. Check for one with errors.Is against
// these values, or for any refusal with refusal.As.
var (
	ErrSelfPay           = refusal.New("self_pay", "You cannot pay yourself.")
	ErrBotRecipient      = refusal.New("bot_recipient", "Bots cannot hold credits.")
	ErrNonPositive       = refusal.New("non_positive", "The amount must be more than zero.")
	ErrInsufficientFunds = refusal.New("insufficient_funds", "You do not have that many credits in your wallet.")
	ErrInsufficientBank  = refusal.New("insufficient_bank", "You do not have that many credits in your bank.")
	ErrOverflow          = refusal.New("overflow", "That amount is too large.")
	ErrBankFull          = refusal.New("bank_full", "Your bank is full; use a Bank Note to raise its capacity.")
	ErrCooldown          = refusal.New("cooldown", "Not yet: that is on cooldown.")
	ErrUnknownJob        = refusal.New("unknown_job", "There is no such job.")
	ErrUnknownItem       = refusal.New("unknown_item", "There is no such item.")
	ErrNotForSale        = refusal.New("not_for_sale", "That item is not sold in the shop.")
	ErrNotSellable       = refusal.New("not_sellable", "Nobody buys that item.")
	ErrNotEnoughItems    = refusal.New("not_enough_items", "You do not have enough of that item (vaulted items do not count).")
	ErrNotUsable         = refusal.New("not_usable", "That item cannot be used.")
	ErrNoTool            = refusal.New("no_tool", "You need a tool to gather: buy one in the /shop.")
	ErrNotTool           = refusal.New("not_tool", "That item is not a tool.")
	ErrNotVaultable      = refusal.New("not_vaultable", "Only rare or better collectibles go in the vault.")
	ErrVaultFull         = refusal.New("vault_full", "Your vault is full.")
	ErrNotInVault        = refusal.New("not_in_vault", "That item is not in your vault.")
	ErrBadQuantity       = refusal.New("bad_quantity", "The quantity must be between 1 and 100.")
	ErrBadPage           = refusal.New("bad_page", "That page does not exist.")
	ErrBadUser           = refusal.New("bad_user", "That is not a valid user.")
	ErrBadOperation      = refusal.New("bad_operation", "This request has no valid operation ID.")
	ErrBadReason         = refusal.New("bad_reason", "Give a reason of 1-200 characters on one line.")
	ErrZeroAdjustment    = refusal.New("zero_adjustment", "An adjustment must change the balance: give a non-zero amount.")
	ErrBadLimit          = refusal.New("bad_limit", "The limit must be between 1 and 100.")
	// ErrBadAmount is returned by ParseAmount for input that is not an amount.
	ErrBadAmount = refusal.New("bad_amount", "That is not an amount: use a whole number like 1500, 1.5k, 2m, all or half.")
)

// ErrRetriesExhausted is returned when a transaction kept failing with
// serialization failures or deadlocks past the retry bound. Nothing was
// written; the user may try again.
var ErrRetriesExhausted = errors.New("economy: too much contention, try again")

// notYet is the refusal of an action that is not ready yet (ErrCooldown with
// a message saying when it is), carrying the ready time for the cooldown
// cache. Callers see only the refusal it wraps.
type notYet struct {
	refusal *refusal.Error
	until   time.Time
}

func (e *notYet) Error() string { return e.refusal.Message }
func (e *notYet) Unwrap() error { return e.refusal }

// cooldownRefusal refuses action (as the user reads it, such as "your
// daily") until the given time, said as a Discord relative timestamp.
func cooldownRefusal(action string, until time.Time) error {
	return cooldownWith(ErrCooldown.Withf("Not yet: %s is ready <t:%d:R>.", action, until.Unix()), until)
}

func cooldownWith(r *refusal.Error, until time.Time) error {
	return &notYet{refusal: r, until: until}
}

// ReadyAt returns when the action refused by err is ready again, when err
// is a cooldown refusal that knows it.
func ReadyAt(err error) (time.Time, bool) {
	var n *notYet
	if errors.As(err, &n) {
		return n.until, true
	}
	return time.Time{}, false
}

// isRefusal reports whether err tells the user no (and changed nothing).
func isRefusal(err error) bool {
	_, ok := refusal.As(err)
	return ok
}

// storedError is how a refusal is kept in an operation's result: its code,
// its message and, for a cooldown, the ready time. Action is only read: rows
// written before messages were stored name the action instead.
type storedError struct {
	Err     string     `json:"err"`
	Message string     `json:"message,omitempty"`
	Action  string     `json:"action,omitempty"`
	Until   *time.Time `json:"until,omitempty"`
}

// encodeRefusal returns the stored form of err, when err is a refusal.
func encodeRefusal(err error) (storedError, bool) {
	r, ok := refusal.As(err)
	if !ok {
		return storedError{}, false
	}
	se := storedError{Err: r.Code, Message: r.Message}
	if until, ok := ReadyAt(err); ok {
		se.Until = &until
	}
	return se, true
}

// decode rebuilds the stored refusal: same code, same message.
func (s storedError) decode() error {
	if s.Until != nil && s.Err == ErrCooldown.Code {
		if s.Message == "" {
			return cooldownRefusal(s.Action, *s.Until)
		}
		return cooldownWith(refusal.Rebuild(s.Err, s.Message), *s.Until)
	}
	return refusal.Rebuild(s.Err, s.Message)
}
