package economy

import (
	"errors"
	"fmt"
	"time"
)

// Rejection is a user-facing refusal: the command changed nothing and the
// message says why. Every rejection has a stable code, stored with the
// operation so a replay returns the same refusal. Check for one with
// errors.Is against the Err values below.
type Rejection struct {
	Code    string
	Message string
}

// Error returns the message for the user.
func (r *Rejection) Error() string { return r.Message }

func reject(code, msg string) *Rejection { return &Rejection{Code: code, Message: msg} }

// The rejections. Their messages are written for users.
var (
	ErrSelfPay           = reject("self_pay", "You cannot pay yourself.")
	ErrBotRecipient      = reject("bot_recipient", "Bots cannot hold credits.")
	ErrNonPositive       = reject("non_positive", "The amount must be more than zero.")
	ErrInsufficientFunds = reject("insufficient_funds", "You do not have that many credits in your wallet.")
	ErrInsufficientBank  = reject("insufficient_bank", "You do not have that many credits in your bank.")
	ErrOverflow          = reject("overflow", "That amount is too large.")
	ErrBankFull          = reject("bank_full", "Your bank is full; use a Bank Note to raise its capacity.")
	ErrCooldown          = reject("cooldown", "Not yet: that is on cooldown.")
	ErrUnknownJob        = reject("unknown_job", "There is no such job.")
	ErrUnknownItem       = reject("unknown_item", "There is no such item.")
	ErrNotForSale        = reject("not_for_sale", "That item is not sold in the shop.")
	ErrNotSellable       = reject("not_sellable", "Nobody buys that item.")
	ErrNotEnoughItems    = reject("not_enough_items", "You do not have enough of that item (vaulted items do not count).")
	ErrNotUsable         = reject("not_usable", "That item cannot be used.")
	ErrNoTool            = reject("no_tool", "You need a tool to gather: buy one in the /shop.")
	ErrNotTool           = reject("not_tool", "That item is not a tool.")
	ErrNotVaultable      = reject("not_vaultable", "Only rare or better collectibles go in the vault.")
	ErrVaultFull         = reject("vault_full", "Your vault is full.")
	ErrNotInVault        = reject("not_in_vault", "That item is not in your vault.")
	ErrBadQuantity       = reject("bad_quantity", "The quantity must be between 1 and 100.")
	ErrBadPage           = reject("bad_page", "That page does not exist.")
	ErrBadUser           = reject("bad_user", "That is not a valid user.")
	ErrBadOperation      = reject("bad_operation", "This request has no valid operation ID.")
	ErrBadReason         = reject("bad_reason", "Give a reason of 1-200 characters on one line.")
	ErrZeroAdjustment    = reject("zero_adjustment", "An adjustment must change the balance: give a non-zero amount.")
	ErrBadLimit          = reject("bad_limit", "The limit must be between 1 and 100.")
)

var rejections = map[string]*Rejection{}

func init() {
	for _, r := range []*Rejection{ErrSelfPay, ErrBotRecipient, ErrNonPositive, ErrInsufficientFunds,
		ErrInsufficientBank, ErrOverflow, ErrBankFull, ErrCooldown, ErrUnknownJob, ErrUnknownItem,
		ErrNotForSale, ErrNotSellable, ErrNotEnoughItems, ErrNotUsable, ErrNoTool, ErrNotTool,
		ErrNotVaultable, ErrVaultFull, ErrNotInVault, ErrBadQuantity, ErrBadPage, ErrBadUser,
		ErrBadOperation, ErrBadAmount, ErrBadReason, ErrZeroAdjustment, ErrBadLimit} {
		rejections[r.Code] = r
	}
}

// ErrBadAmount is returned by ParseAmount for input that is not an amount.
var ErrBadAmount = reject("bad_amount", "That is not an amount: use a whole number like 1500, 1.5k, 2m, all or half.")

// CooldownError is the rejection of an action that is not ready yet; it
// matches ErrCooldown with errors.Is and says when the action is ready.
type CooldownError struct {
	Action string
	Until  time.Time
}

// Error says when the action is ready, as a Discord relative timestamp.
func (e *CooldownError) Error() string {
	return fmt.Sprintf("Not yet: %s is ready <t:%d:R>.", e.Action, e.Until.Unix())
}

// Is makes errors.Is(err, ErrCooldown) true.
func (e *CooldownError) Is(target error) bool { return target == ErrCooldown }

// ErrRetriesExhausted is returned when a transaction kept failing with
// serialization failures or deadlocks past the retry bound. Nothing was
// written; the user may try again.
var ErrRetriesExhausted = errors.New("economy: too much contention, try again")

// IsRejection reports whether err is a user-facing rejection (changes
// nothing, message fit for users).
func IsRejection(err error) bool {
	var r *Rejection
	var c *CooldownError
	return errors.As(err, &r) || errors.As(err, &c)
}

// storedError is how a rejection is kept in an operation's result.
type storedError struct {
	Err    string     `json:"err"`
	Action string     `json:"action,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
}

func encodeRejection(err error) (storedError, bool) {
	var c *CooldownError
	if errors.As(err, &c) {
		u := c.Until
		return storedError{Err: ErrCooldown.Code, Action: c.Action, Until: &u}, true
	}
	var r *Rejection
	if errors.As(err, &r) {
		return storedError{Err: r.Code}, true
	}
	return storedError{}, false
}

func (s storedError) decode() error {
	if s.Err == ErrCooldown.Code && s.Until != nil {
		return &CooldownError{Action: s.Action, Until: *s.Until}
	}
	if r, ok := rejections[s.Err]; ok {
		return r
	}
	return reject(s.Err, "That was refused.")
}
