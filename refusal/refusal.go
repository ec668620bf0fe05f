// Package refusal is the one shape of "tell the user no": an error with a
// stable code and a message written for the user, returned when a request
// changed nothing. Each package declares its refusals with New, which
// registers the code, so that a refusal that crossed a process boundary (the
// music RPC, an operation result stored for replay) is rebuilt from its code
// and still matches with errors.Is. Callers that answer users find one with
// errors.As and show its Message; they need no table of their own.
package refusal

import (
	"errors"
	"fmt"
	"sync"
)

// Error is a refusal: Code identifies it across processes and versions,
// Message is what the user reads.
type Error struct {
	Code    string
	Message string
}

// Error returns the message for the user.
func (e *Error) Error() string { return e.Message }

// Is matches any refusal with the same code, so that a refusal given a more
// specific message (With) or rebuilt from the wire matches the declared one.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// With returns a refusal with e's code and a message about this case, such
// as one that names the numbers involved.
func (e *Error) With(message string) *Error { return &Error{Code: e.Code, Message: message} }

// Withf is With with a formatted message.
func (e *Error) Withf(format string, args ...any) *Error {
	return e.With(fmt.Sprintf(format, args...))
}

var (
	mu       sync.RWMutex
	declared = map[string]*Error{}
)

// New declares a refusal and registers its code. Codes are global: two
// declarations of one code are a programming error, and New panics, which
// happens when the second package is initialised.
func New(code, message string) *Error {
	if code == "" || message == "" {
		panic("refusal: a refusal needs a code and a message")
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := declared[code]; dup {
		panic(fmt.Sprintf("refusal: code %q declared twice", code))
	}
	e := &Error{Code: code, Message: message}
	declared[code] = e
	return e
}

// Lookup returns the declared refusal with code.
func Lookup(code string) (*Error, bool) {
	mu.RLock()
	defer mu.RUnlock()
	e, ok := declared[code]
	return e, ok
}

// Rebuild returns a refusal that came from elsewhere: its code, and the
// message as sent (the declared message when none was). An undeclared code
// still gives a refusal, so that a newer node's refusal reads as one on an
// older node.
func Rebuild(code, message string) *Error {
	if message == "" {
		if e, ok := Lookup(code); ok {
			message = e.Message
		} else {
			message = "That was refused."
		}
	}
	return &Error{Code: code, Message: message}
}

// As returns the refusal in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
