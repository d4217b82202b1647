package kiosk

import (
	"errors"
	"fmt"
)

// Error codes a user or a client program may see. Everything else is
// internal and shown as a generic message.
const (
	ECONFLICT     = "conflict"     // the action conflicts with the current state
	EINTERNAL     = "internal"     // something went wrong on our side
	EINVALID      = "invalid"      // the input is invalid
	ENOTFOUND     = "not_found"    // the thing does not exist
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EDENIED       = "denied"       // the policy refused; see Reason
	EGONE         = "gone"         // it existed but was revoked or expired
)

// Error is an error with a code for callers and a message for people.
// Reason is set when the policy refused an action (Code == EDENIED).
type Error struct {
	Code    string
	Message string
	Reason  Reason
}

func (e *Error) Error() string {
	return fmt.Sprintf("kiosk error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for
// nil and EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
