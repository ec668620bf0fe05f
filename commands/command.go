// Package commands holds the slash-command catalog and routes interactions to
// it: one definition per command serves both deployment to Discord and
// validation of what users send; replies, deferral, the per-interaction
// claim and rate limiting are handled here so that handlers stay small.
package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// OptionType is the type of a command option, as Discord numbers them.
type OptionType int

// The option types commands use.
const (
	String  OptionType = 3
	Integer OptionType = 4
	Boolean OptionType = 5
	User    OptionType = 6
	Channel OptionType = 7
	Number  OptionType = 10
)

func (t OptionType) String() string {
	switch t {
	case String:
		return "text"
	case Integer:
		return "whole number"
	case Boolean:
		return "true/false"
	case User:
		return "user"
	case Channel:
		return "channel"
	case Number:
		return "number"
	}
	return fmt.Sprintf("type %d", int(t))
}

// Choice is one allowed value of an option; Value is a string for String
// options and an int64 for Integer options.
type Choice struct {
	Name  string
	Value any
}

// Option is a typed option of a command.
type Option struct {
	Name        string
	Description string
	Type        OptionType
	Required    bool
	Choices     []Choice
	// Min and Max bound Integer and Number options when set.
	Min, Max *float64
	// MinLength and MaxLength bound String options when non-zero.
	MinLength, MaxLength int
	// Autocomplete, when set, suggests values while the user types (for
	// String, Integer and Number options without Choices).
	Autocomplete Autocompleter
}

// Handler does a command's work and returns the reply to show. A refusal
// (refusal.Error, such as one made with Errorf) or a UserError is shown to
// the user; any other error is logged and the user sees a generic failure.
type Handler func(ctx context.Context, inv *Invocation) (Reply, error)

// Command is one slash command, or one subcommand of a command.
type Command struct {
	Name        string
	Description string
	Options     []Option
	// Subcommands, when set, replace Options and Run: the user picks one.
	Subcommands []*Command
	// Defer makes the first response a deferred one at once, for commands
	// whose work usually takes longer than Discord's 3-second deadline.
	// Commands without it are deferred only when they run past DeferAfter.
	Defer bool
	// Ephemeral makes every reply of the command visible to its user only.
	Ephemeral bool
	// Writes marks a command that changes state (credits, items, the
	// music queue). It runs only while its interaction can still be
	// answered: near Discord's deadline it is acknowledged first, and past
	// it, dropped. A command without it only reads, and may answer late.
	Writes bool
	Run    Handler
}

// Component handles presses of buttons whose custom ID starts with Prefix
// followed by ':' (or equals Prefix). Its reply replaces the message the
// button was on.
type Component struct {
	Prefix string
	// Writes marks a button that changes state, as Command.Writes does.
	Writes bool
	Run    Handler
}

// Modal is a pop-up form that a command or a button opens instead of
// replying (interaction response type 9). Its submission comes back to
// the Component whose prefix begins CustomID, with the typed text in
// Invocation.Fields.
type Modal struct {
	CustomID string
	Title    string
	// Inputs are its text inputs, one per row (1 to 5).
	Inputs []TextInput
}

// TextInput is one text field of a modal.
type TextInput struct {
	CustomID    string
	Label       string
	Placeholder string
	Value       string
	// Paragraph makes it a multi-line input.
	Paragraph bool
	Required  bool
	// MinLength and MaxLength bound the text when non-zero.
	MinLength, MaxLength int
}

// Reply is what the bot shows in answer to an interaction.
type Reply struct {
	Content    string
	Embeds     []discord.Embed
	Components discord.ContainerComponents
	Ephemeral  bool
	// Modal, when set, opens a modal instead of replying; the rest of the
	// reply is ignored. It must be the first response (never deferred).
	Modal *Modal
}

// ErrRefused is the refusal of a command's own checks (Errorf): the request
// changed nothing and the message says why.
var ErrRefused = refusal.New("command_refused", "That cannot be done.")

// UserError gives an error that is not a refusal, such as contention or a
// part of the bot that is switched off, a message to show the user as an
// ephemeral reply. Refusals need no wrapper: a handler returns them as they
// are.
type UserError struct {
	Message string
	// Err, when set, is the error behind the message, for errors.Is.
	Err error
}

func (e *UserError) Error() string { return e.Message }
func (e *UserError) Unwrap() error { return e.Err }

// Errorf returns a refusal (ErrRefused) with a formatted message.
func Errorf(format string, args ...any) error {
	return ErrRefused.Withf(format, args...)
}

// Explain gives err the message to show the user: a refusal keeps its code
// with the new message, any other error is wrapped in a UserError.
func Explain(err error, message string) error {
	if r, ok := err.(*refusal.Error); ok {
		return r.With(message)
	}
	return &UserError{Message: message, Err: err}
}

// UserMessage returns the message err carries for the user: that of the
// outermost UserError in its chain, else that of its refusal.
func UserMessage(err error) (string, bool) {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Message, true
	}
	if r, ok := refusal.As(err); ok {
		return r.Message, true
	}
	return "", false
}

// IsUserError reports whether err carries a message for the user: it is,
// or wraps, a refusal or a UserError.
func IsUserError(err error) bool {
	_, ok := UserMessage(err)
	return ok
}

// Invocation is one use of a command or a button, with its options decoded
// and checked against the command's definition.
type Invocation struct {
	ID        discord.InteractionID
	AppID     discord.AppID
	Token     string
	GuildID   discord.GuildID
	ChannelID discord.ChannelID
	User      discord.User
	// Command is the full command path, such as "bank deposit"; for a
	// button it is the component's prefix.
	Command string
	// CustomID and Args are set for buttons: the custom ID and its
	// ':'-separated fields after the prefix.
	CustomID string
	Args     []string
	// Values are the choices picked in a select menu (the IDs, for a
	// user, role, mentionable or channel select).
	Values []string
	// Fields are a submitted modal's text inputs, by custom ID.
	Fields map[string]string
	// Shard is the gateway shard the interaction arrived on.
	Shard int
	// Created is when Discord created the interaction (its snowflake's
	// time, never later than Received): Discord's deadline runs from it.
	Created time.Time
	// Received is when the gateway event was decoded.
	Received time.Time
	// Node is the ID of the node handling the interaction.
	Node string

	catalog *Catalog
	// onMessage: the interaction came from a component on a message (or
	// a modal one opened), so its answer may update that message.
	onMessage bool
	// once claims the operation for Once; onceHeld records that it did.
	once     func(ctx context.Context) error
	onceHeld bool

	options map[string]value
	users   map[discord.UserID]discord.User
}

// value is a decoded option value.
type value struct {
	typ OptionType
	s   string
	i   int64
	f   float64
	b   bool
	id  discord.Snowflake
}

// OperationID identifies the operation for exactly-once effects: the
// interaction ID for commands and, for buttons, the first argument of the
// custom ID when present (so that a double click is one operation).
func (inv *Invocation) OperationID() string {
	if inv.CustomID != "" && len(inv.Args) > 0 && inv.Args[0] != "" {
		return inv.Command + ":" + inv.Args[0]
	}
	return inv.ID.String()
}

// Has reports whether the user gave option name.
func (inv *Invocation) Has(name string) bool {
	_, ok := inv.options[name]
	return ok
}

// String returns a String option's value, or "" when absent.
func (inv *Invocation) String(name string) string { return inv.options[name].s }

// Int returns an Integer option's value and whether it was given.
func (inv *Invocation) Int(name string) (int64, bool) {
	v, ok := inv.options[name]
	return v.i, ok
}

// Number returns a Number option's value and whether it was given.
func (inv *Invocation) Number(name string) (float64, bool) {
	v, ok := inv.options[name]
	return v.f, ok
}

// Bool returns a Boolean option's value and whether it was given.
func (inv *Invocation) Bool(name string) (bool, bool) {
	v, ok := inv.options[name]
	return v.b, ok
}

// UserOption returns a User option's user (resolved by Discord) and whether
// it was given.
func (inv *Invocation) UserOption(name string) (discord.User, bool) {
	v, ok := inv.options[name]
	if !ok {
		return discord.User{}, false
	}
	id := discord.UserID(v.id)
	if u, ok := inv.users[id]; ok {
		return u, true
	}
	return discord.User{ID: id}, true
}

// ChannelOption returns a Channel option's channel ID and whether it was given.
func (inv *Invocation) ChannelOption(name string) (discord.ChannelID, bool) {
	v, ok := inv.options[name]
	return discord.ChannelID(v.id), ok
}
