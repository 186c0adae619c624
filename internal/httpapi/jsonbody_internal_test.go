package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/derrors"
)

// The handlers' own JSON decoding (Echo's serializer, used when a body reaches a handler
// without the contract middleware's validated value) is as strict as the middleware's.
func TestStrictSerializer(t *testing.T) {
	e := echo.New()
	decode := func(body string, v any) error {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(body))
		return strictSerializer{}.Deserialize(e.NewContext(req, httptest.NewRecorder()), v)
	}
	var v struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	if err := decode(`{"name":"Ada","age":36}`, &v); err != nil || v.Name != "Ada" || v.Age != 36 {
		t.Fatalf("a good body: %v %+v", err, v)
	}
	tests := []struct{ name, body, field string }{
		{"repeated key", `{"name":"A","name":"B"}`, "name"},
		{"text after", `{"name":"A"} x`, "body"},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", "name"},
		{"wrong type", `{"age":"old"}`, "age"},
		{"wrong type of the whole", `[1]`, "body"},
	}
	for _, tt := range tests {
		err := decode(tt.body, &v)
		d := derrors.As(err)
		if d == nil || d.Kind != derrors.Malformed || len(d.Fields) != 1 || d.Fields[0].Field != tt.field {
			t.Errorf("%s: %v, want Malformed naming %s", tt.name, err, tt.field)
		}
		if d != nil && strings.Contains(d.Error(), "json:") {
			t.Errorf("%s: the message shows Go internals: %s", tt.name, d.Error())
		}
	}
}
