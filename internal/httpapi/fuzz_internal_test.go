package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/derrors"
)

// fuzzBase is the record a patch is applied to: every kind of field set.
const fuzzBase = `{"studentId":"S1","firstName":"Ada","lastName":"King","preferredName":"Ada",
 "email":"ada@example.org","phone":"+44 20 7946 0958","address":{"line1":"1 Way","city":"London","country":"GB"},
 "employment":{"employer":"Acme","jobTitle":"Engineer","industry":"Software"},
 "linkedinUrl":"https://www.linkedin.com/in/ada","degrees":[{"degree":"BSc","program":"Maths","graduationYear":2008,"primary":true}],
 "tags":["donor"],"directoryConsent":true,"contactPermissions":{"email":true},"status":"active","notes":"n"}`

// FuzzMergePatch applies arbitrary bodies of PATCH /api/v1/alumni/{id} the way UpdateAlumnus
// does (the contract's shape check left out, so the fuzzer reaches further). Refusals are
// domain errors of the kinds a patch may get (Malformed for the body, Invalid for the record
// it makes), never anything else; a merge patch that applies is idempotent (RFC 7396: applying
// it again changes nothing); and an alumnus's patch is refused unless it names only fields
// alumni may edit.
func FuzzMergePatch(f *testing.F) {
	var base api.AlumnusInput
	if err := json.Unmarshal([]byte(fuzzBase), &base); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{}`, `{"phone":null}`, `{"address":{"city":null,"country":"fr"}}`, `{"degrees":[]}`,
		`{"firstName":null}`, `{"notes":"x","unknown":1}`, `null`, `[1]`, `"x"`, `{"a":`, `{"email":"NOT AN EMAIL"}`,
		`{"degrees":[{"degree":"MA","program":"Art","graduationYear":99999,"primary":true}]}`,
		`{"tags":["a","A"," a "]}`, `{"directoryConsent":"yes"}`, strings.Repeat(`{"address":`, 200) + `1` + strings.Repeat(`}`, 200),
	} {
		f.Add([]byte(s))
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, patch []byte) {
		keys := patchKeys(patch)
		if err := alumni.CheckSelfPatch(keys); err != nil && derrors.KindOf(err) != derrors.Malformed {
			t.Fatalf("CheckSelfPatch: %v", err)
		} else if err == nil {
			for _, k := range keys {
				if !slices.Contains(alumni.SelfEditable, k) {
					t.Fatalf("an alumnus may patch %q", k)
				}
			}
		}
		out, err := mergePatch(base, patch)
		if err != nil {
			if derrors.KindOf(err) != derrors.Malformed {
				t.Fatalf("mergePatch: %v", err)
			}
			return
		}
		again, err := mergePatch(out, patch)
		if err != nil {
			t.Fatalf("the patch applies once but not twice: %v", err)
		}
		if a, b := mustMarshal(t, out), mustMarshal(t, again); !bytes.Equal(a, b) {
			t.Fatalf("applying the patch twice: %s, once: %s", b, a)
		}
		fields := toFields(out)
		if err := alumni.Normalize(&fields, now); err != nil && derrors.KindOf(err) != derrors.Invalid {
			t.Fatalf("Normalize: %v", err)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzBearerToken parses Authorization headers: a token is found only after the Bearer scheme
// (any case) and a space, is never empty nor padded with spaces, and reads back the same.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer  x ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "BEARER\ttok", "", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := bearerToken(header)
		if !ok {
			if tok != "" {
				t.Fatalf("refused %q but returned %q", header, tok)
			}
			return
		}
		if tok == "" || strings.TrimSpace(tok) != tok {
			t.Fatalf("token %q from %q", tok, header)
		}
		if !strings.EqualFold(header[:len("Bearer ")], "Bearer ") {
			t.Fatalf("accepted scheme of %q", header)
		}
		if again, ok := bearerToken("Bearer " + tok); !ok || again != tok {
			t.Fatalf("round trip of %q: %q %v", tok, again, ok)
		}
	})
}

// FuzzRequestID sends any X-Request-Id: the response and the request's context carry the same
// id, which is the one sent when it is sane and a fresh one otherwise, so no client text that
// could forge a log line gets through.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc-123", "a\nlevel=ERROR msg=forged", strings.Repeat("x", 128), strings.Repeat("x", 129), "trace:1.2_3", "é", "a b"} {
		f.Add(s)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, sent string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header[echo.HeaderXRequestID] = []string{sent}
		rec := httptest.NewRecorder()
		var inContext string
		err := withRequestID(func(c echo.Context) error {
			inContext = requestID(c.Request().Context())
			return nil
		})(e.NewContext(req, rec))
		if err != nil {
			t.Fatal(err)
		}
		got := rec.Header().Get(echo.HeaderXRequestID)
		if got != inContext || !validRequestID.MatchString(got) {
			t.Fatalf("sent %q: response %q, context %q", sent, got, inContext)
		}
		if validRequestID.MatchString(sent) != (got == sent) {
			t.Fatalf("sent %q, got %q", sent, got)
		}
	})
}

// FuzzEventsAuth decodes first messages of the events WebSocket: a message is either refused
// with closeBadInput or is an auth message with a token, which encodes and decodes to itself.
func FuzzEventsAuth(f *testing.F) {
	for _, s := range []string{
		`{"type":"auth","token":"t"}`, `{"type":"auth","token":"t","lastEventId":"42"}`, `{"type":"auth","token":""}`,
		`{"type":"other","token":"t"}`, `{"type":"auth","token":"t","x":1}`, `{"type":"auth","token":"t"} trailing`,
		`[]`, `null`, `{"type":"auth","token":"\u0000","lastEventId":null}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Add([]byte(`{"type":"auth","token":"t"}`), false)
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		typ := websocket.MessageBinary
		if text {
			typ = websocket.MessageText
		}
		msg, err := decodeAuth(typ, data)
		if err != nil {
			if !errors.Is(err, closeBadInput) {
				t.Fatalf("error %v is not closeBadInput", err)
			}
			return
		}
		if !text || msg.Type != api.Auth || msg.Token == "" {
			t.Fatalf("accepted %+v from %q", msg, data)
		}
		again, err := decodeAuth(websocket.MessageText, mustMarshal(t, msg))
		if err != nil || !bytes.Equal(mustMarshal(t, again), mustMarshal(t, msg)) {
			t.Fatalf("round trip of %+v: %+v %v", msg, again, err)
		}
	})
}
