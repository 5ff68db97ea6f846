// Package apperr is the error type that domain packages return when a
// request is refused for a reason the caller should see. The Name is one of
// the problem names in API.md ("slot-full", "ineligible", ...); the HTTP
// layer maps it to a status in one table (internal/httpx/problem.go).
package apperr

import (
	"errors"
	"fmt"
)

// Error is a refusal with a stable name, a plain-language detail and,
// optionally, members the problem body carries (reasons, rule_version...).
type Error struct {
	Name   string
	Detail string
	Extra  map[string]any
	// Field errors for invalid-request: field name -> message.
	Fields map[string]string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Name
	}
	return e.Name + ": " + e.Detail
}

// New returns an Error with a formatted detail.
func New(name, format string, args ...any) *Error {
	return &Error{Name: name, Detail: fmt.Sprintf(format, args...)}
}

// With returns e with one more body member.
func (e *Error) With(key string, value any) *Error {
	if e.Extra == nil {
		e.Extra = map[string]any{}
	}
	e.Extra[key] = value
	return e
}

// Invalid returns an invalid-request error for one field.
func Invalid(field, message string) *Error {
	return &Error{Name: "invalid-request", Detail: "the request has invalid fields",
		Fields: map[string]string{field: message}}
}

// NotFound returns a not-found error naming what was missing.
func NotFound(what string) *Error {
	return New("not-found", "%s not found", what)
}

// NameOf returns the problem name carried by err, or "" if it has none.
func NameOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// Is reports whether err carries the problem name.
func Is(err error, name string) bool { return NameOf(err) == name }
