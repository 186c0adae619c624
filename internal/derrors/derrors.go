// Package derrors defines the few kinds of failure the domain reports; the HTTP layer maps each
// kind to one status code and problem type.
package derrors

import (
	"errors"
	"strings"
	"time"
)

// Kind says what went wrong, independent of the transport.
type Kind uint8

// The kinds of domain failure.
const (
	// Malformed input cannot be read at all (a broken cursor, an unknown sort).
	Malformed Kind = iota + 1
	// Invalid input is readable but a value is not acceptable.
	Invalid
	// NotFound: no such object, or the caller may not know it exists.
	NotFound
	// Conflict: a unique value is already taken.
	Conflict
	// PreconditionFailed: the object changed since the version the caller named.
	PreconditionFailed
	// PreconditionRequired: the caller must name the version it changes.
	PreconditionRequired
	// Unauthenticated: no credentials, or credentials that are not (or no longer) valid.
	Unauthenticated
	// Forbidden: the caller is known but may not do this.
	Forbidden
	// Throttled: too many attempts; the caller should wait RetryAfter.
	Throttled
	// TooLarge: the input is over a size limit (bytes, rows).
	TooLarge
	// Unavailable: the service cannot take the work on right now (overloaded, or a
	// dependency is down); the caller should retry after RetryAfter.
	Unavailable
	// KeyInUse: an earlier request with the same idempotency key is still running; the caller
	// should retry after RetryAfter.
	KeyInUse
	// KeyReused: the idempotency key was used before with a different request.
	KeyReused
	// Moved: the object now lives at another id (a record merged into another: SurvivorID).
	Moved
)

// FieldError names one field and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// Error is a domain failure with a message safe to show to the caller.
type Error struct {
	Kind   Kind
	Detail string
	Fields []FieldError
	// RetryAfter is how long a Throttled, Unavailable or KeyInUse caller should wait.
	RetryAfter time.Duration
	// SurvivorID is the public id of the record a merged-away record lives on, for Moved and
	// for a Conflict about a merged-away record.
	SurvivorID string
	// Cause is the failure behind an Unavailable one (a database that could not do the
	// work), for the log; never shown to the caller. Nil for a refusal by the service itself.
	Cause error
}

// New returns an Error of kind with a caller-facing detail and optional field errors.
func New(kind Kind, detail string, fields ...FieldError) *Error {
	return &Error{Kind: kind, Detail: detail, Fields: fields}
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Detail + " (" + e.Cause.Error() + ")"
	}
	if len(e.Fields) == 0 {
		return e.Detail
	}
	var b strings.Builder
	b.WriteString(e.Detail)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is and errors.As see through a classified failure.
func (e *Error) Unwrap() error { return e.Cause }

// As returns the *Error in err's chain, or nil when err is not a domain failure.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of the domain failure in err's chain, or 0 when there is none.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return 0
}

// Fields collects field errors and turns them into one Invalid error.
type Fields []FieldError

// Add records a problem with field.
func (fs *Fields) Add(field, message string) {
	*fs = append(*fs, FieldError{Field: field, Message: message})
}

// Err returns nil when nothing was added, or an Invalid error listing every field.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return New(Invalid, "Some values are not acceptable.", fs...)
}
