package httpapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
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
