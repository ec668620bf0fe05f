package discordsim

import (
	"fmt"
	"strconv"
)

// Discord's error shape (reference.mdx, Error Messages;
// topics-opcodes-and-status-codes.mdx): an APIError with a JSON error code,
// and for a refused request body the 50035 "Invalid Form Body" error whose
// errors tree names the field at fault. The validators build their errors
// with the constructors below.

// APIError is Discord's JSON error body: {code, message, errors}.
type APIError struct {
	Status  int    `json:"-"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Errors  any    `json:"errors,omitempty"`
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s (code %d)", e.Status, e.Message, e.Code) }

func errStatus(status, code int, msg string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg}
}

// formError builds a 50035 Invalid Form Body error with one field error at path.
func formError(path []string, code, msg string) *APIError {
	var tree any = map[string]any{"_errors": []any{map[string]string{"code": code, "message": msg}}}
	for i := len(path) - 1; i >= 0; i-- {
		tree = map[string]any{path[i]: tree}
	}
	return &APIError{Status: 400, Code: 50035, Message: "Invalid Form Body", Errors: tree}
}

var (
	errUnauthorized       = errStatus(401, 0, "401: Unauthorized")
	errNotFound           = errStatus(404, 0, "404: Not Found")
	errMissingAccess      = errStatus(403, 50001, "Missing Access")
	errUnknownChannel     = errStatus(404, 10003, "Unknown Channel")
	errUnknownGuild       = errStatus(404, 10004, "Unknown Guild")
	errUnknownMessage     = errStatus(404, 10008, "Unknown Message")
	errUnknownUser        = errStatus(404, 10013, "Unknown User")
	errUnknownWebhook     = errStatus(404, 10015, "Unknown Webhook")
	errUnknownInteraction = errStatus(404, 10062, "Unknown interaction")
	errUnknownCommand     = errStatus(404, 10063, "Unknown application command")
	errNotAuthorizedApp   = errStatus(403, 20012, "You are not authorized to perform this action on this application")
	errAlreadyAcked       = errStatus(400, 40060, "Interaction has already been acknowledged.")
	errEmptyMessage       = errStatus(400, 50006, "Cannot send an empty message")
	errInvalidWebhookTok  = errStatus(401, 50027, "Invalid Webhook Token")
	errInvalidJSON        = errStatus(400, 50109, "The request body contains invalid JSON.")
	errMaxCommands        = errStatus(400, 30032, "Maximum number of application commands reached")
	errDailyCreates       = errStatus(429, 30034, "Maximum number of daily application command creates has been reached (200)")
)

// subPath returns path followed by more, in a new slice.
func subPath(path []string, more ...string) []string {
	return append(append([]string(nil), path...), more...)
}

// requiredField, maxLength and badLength are Discord's errors for a
// missing field, a value over max characters or items, and a list whose
// length is not within lo and hi.
func requiredField(path []string) *APIError {
	return formError(path, "BASE_TYPE_REQUIRED", "This field is required")
}

func maxLength(path []string, max int) *APIError {
	return formError(path, "BASE_TYPE_MAX_LENGTH", "Must be "+strconv.Itoa(max)+" or fewer in length.")
}

func badLength(path []string, lo, hi int) *APIError {
	return formError(path, "BASE_TYPE_BAD_LENGTH", "Must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi)+" in length.")
}

// schemeError is Discord's error for a url at path whose scheme is not one
// of allowed (a Python tuple, as Discord writes it).
func schemeError(path []string, scheme, allowed string) *APIError {
	return formError(path, "URL_TYPE_INVALID_SCHEME",
		"Scheme "+strconv.Quote(scheme)+" is not supported. Scheme must be one of "+allowed+".")
}
