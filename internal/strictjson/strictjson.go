// Package strictjson is the one reading of JSON request bodies and messages: a body is one
// I-JSON document (RFC 7493) or it is refused. Every decoder in the service (the contract
// check, the handlers' binding, WebSocket messages, form fields holding JSON) calls Check first,
// so a proxy reading the same bytes can never see a different request than the service does.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Error says why a document was refused and where: Pointer is the RFC 6901 pointer of the
// offending member or value ("" for the document itself).
type Error struct {
	Pointer string
	Reason  string
}

func (e *Error) Error() string {
	if e.Pointer == "" {
		return "json: " + e.Reason
	}
	return "json: " + e.Pointer + ": " + e.Reason
}

// Path returns the pointer's parts ("/a/b/0" is [a b 0]), unescaped.
func (e *Error) Path() []string {
	if e.Pointer == "" {
		return nil
	}
	return slices.Collect(jsontext.Pointer(e.Pointer).Tokens()) // unescapes ~0 and ~1
}

// Check returns an *Error unless data is exactly one JSON value with optional white space
// around it, whose strings are valid UTF-8 (no unpaired surrogate escapes), whose objects
// repeat no member name, and whose numbers fit a 64-bit float. An empty document is refused
// too ("is empty").
func Check(data []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	values := 0
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			if values == 0 {
				return &Error{Reason: "the body is empty"}
			}
			return nil
		}
		if err != nil {
			return syntaxError(err, values > 0)
		}
		if values > 0 {
			return &Error{Reason: "there is more after the JSON document"}
		}
		if tok.Kind() == '0' {
			if _, perr := strconv.ParseFloat(tok.String(), 64); perr != nil {
				return &Error{Pointer: string(dec.StackPointer()), Reason: "the number is too large"}
			}
		}
		if dec.StackDepth() == 0 {
			values++
		}
	}
}

// Unmarshal checks data with Check and then decodes it into v with encoding/json.
func Unmarshal(data []byte, v any) error {
	if err := Check(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// syntaxError turns jsontext's error into an *Error with a reason fit for a client.
func syntaxError(err error, afterValue bool) *Error {
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &Error{Reason: "the JSON document ends too early"}
		}
		return &Error{Reason: "is not valid JSON"}
	}
	reason, pointed := "is not valid JSON", false
	msg := ""
	if se.Err != nil {
		msg = se.Err.Error()
	}
	switch {
	case afterValue:
		reason = "there is more after the JSON document"
	case errors.Is(err, io.ErrUnexpectedEOF):
		reason = "the JSON document ends too early"
	case errors.Is(err, jsontext.ErrDuplicateName):
		reason, pointed = "the member name appears more than once in its object", true
	case strings.Contains(msg, "UTF-8"), strings.Contains(msg, "surrogate"):
		reason, pointed = "the string is not valid UTF-8 (or holds an unpaired surrogate escape)", true
	case msg != "":
		reason = "is not valid JSON: " + msg
	}
	if !pointed {
		return &Error{Reason: reason} // where a broken document breaks is no field of it
	}
	return &Error{Pointer: string(se.JSONPointer), Reason: reason}
}
