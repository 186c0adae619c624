package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/internal/derrors"
)

// Reading a JSON body for its fingerprint keeps the value the contract guard validated, which
// the generated handler binds instead of decoding the body again.
func TestReadBodyKeepsTheValidatedValue(t *testing.T) {
	value := map[string]any{"firstName": "Ada"}
	req, err := http.NewRequest(http.MethodPost, "/api/v1/alumni", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = validatedBody{ReadCloser: io.NopCloser(strings.NewReader(`{"firstName":"Ada"}`)), value: value}
	body, err := readBody(req)
	if err != nil || string(body) != `{"firstName":"Ada"}` {
		t.Fatalf("readBody = %q, %v", body, err)
	}
	vb, ok := req.Body.(interface{ ValidatedValue() any })
	if !ok || vb.ValidatedValue().(map[string]any)["firstName"] != "Ada" {
		t.Fatalf("the body lost its validated value: %#v", req.Body)
	}
	again, err := io.ReadAll(req.Body)
	if err != nil || string(again) != string(body) {
		t.Errorf("the handler reads %q, %v", again, err)
	}
}

// The answer recorder keeps a copy of a small answer, gives up keeping one past the limit
// without changing what the client gets, and passes flushes and the connection through.
func TestAnswerRecorder(t *testing.T) {
	w := httptest.NewRecorder()
	r := &answerRecorder{ResponseWriter: w}
	_, _ = r.Write([]byte("small"))
	r.Flush()
	if r.overflow || r.body.String() != "small" || !w.Flushed || r.Unwrap() != w {
		t.Fatalf("small answer: overflow %v, kept %q, flushed %v", r.overflow, r.body.String(), w.Flushed)
	}
	big := bytes.Repeat([]byte("x"), maxStoredAnswer)
	_, _ = r.Write(big)
	if !r.overflow || r.body.Len() != 0 || w.Body.Len() != len("small")+len(big) {
		t.Errorf("over the limit: overflow %v, kept %d bytes, sent %d", r.overflow, r.body.Len(), w.Body.Len())
	}
}

// A form that cannot be read is Malformed, unless its reader's error is an answer already
// (the size limit) or the request's end.
func TestFormReadError(t *testing.T) {
	tooLarge := derrors.New(derrors.TooLarge, "too large")
	for _, err := range []error{tooLarge, context.Canceled, context.DeadlineExceeded} {
		if got := formReadError(err); !errors.Is(got, err) {
			t.Errorf("formReadError(%v) = %v, want it passed on", err, got)
		}
	}
	if d := derrors.As(formReadError(io.ErrUnexpectedEOF)); d == nil || d.Kind != derrors.Malformed {
		t.Errorf("a broken form: %v", d)
	}
}
