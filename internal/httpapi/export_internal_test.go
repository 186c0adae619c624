package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/export"
)

// An export outlives the server's read and write timeouts as long as the client keeps reading:
// each write gets its own deadline.
func TestExportOutputOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	handlerErr := make(chan error, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := &httpOutput{w: w, rc: http.NewResponseController(w), stall: 5 * time.Second, format: export.CSV, now: time.Now()}
		o.Start()
		var err error
		for i := range 6 {
			time.Sleep(50 * time.Millisecond) // 300 ms in all, three times the server's timeouts
			if _, err = fmt.Fprintf(o, "line %d\n", i); err == nil {
				err = o.Flush()
			}
			if err != nil {
				break
			}
		}
		handlerErr <- errors.Join(err, r.Context().Err())
	}))
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || bytes.Count(body, []byte("\n")) != 6 {
		t.Errorf("body %q, error %v: want six lines", body, err)
	}
	if err := <-handlerErr; err != nil {
		t.Errorf("the export was cut: %v", err)
	}
}

// A client that stops reading is dropped once a write has waited stall.
func TestExportOutputDropsStalledClient(t *testing.T) {
	t.Parallel()
	handlerErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		o := &httpOutput{w: w, rc: http.NewResponseController(w), stall: 100 * time.Millisecond, format: export.CSV, now: time.Now()}
		o.Start()
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		var err error
		for range 4096 { // 256 MiB at most: far more than the socket buffers take
			if _, err = o.Write(chunk); err != nil {
				break
			}
		}
		handlerErr <- err
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// ... and never reads.
	err = <-handlerErr
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("write error %v, want a timeout", err)
	}
}
