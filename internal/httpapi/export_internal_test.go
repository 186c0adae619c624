package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/auth"
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

// How an export that fails ends: before the first byte with the error (a problem answer);
// after it, by aborting the connection so that the client sees a truncated body, logged with
// the request id; quietly when the client went away.
func TestExportFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		started   bool
		err       error
		wantErr   bool   // Visit returns the error
		truncated bool   // the client's read fails
		log       string // logged
	}{
		{"before the first byte", false, errors.New("bad filter"), true, false, ""},
		{"database failure after the first byte", true, errors.New("connection refused"), false, true, "export failed after the download started"},
		{"client went away", true, export.WriteError{Err: errors.New("broken pipe")}, false, false, "export cut short by the client"},
		{"complete", true, nil, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs syncLog
			visitErr := make(chan error, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := exportHandlers{
					stream: func(_ context.Context, _ auth.Principal, _ export.Request, out export.Output) (export.Result, error) {
						if !tt.started {
							return export.Result{}, tt.err
						}
						out.Start()
						_, _ = out.Write([]byte("id\r\n1\r\n"))
						_ = out.Flush()
						return export.Result{Started: true, Rows: 1, Complete: tt.err == nil}, tt.err
					},
					stall: time.Second, log: slog.New(slog.NewTextHandler(&logs, nil)), now: time.Now,
				}
				ctx := context.WithValue(r.Context(), requestIDKey{}, "req-1")
				err := exportStream{ctx: ctx, h: h, req: export.Request{Format: export.CSV}}.VisitExportAlumniResponse(w)
				visitErr <- err
				if err != nil {
					http.Error(w, "problem", http.StatusBadRequest)
				}
			}))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if truncated := errors.Is(err, io.ErrUnexpectedEOF); truncated != tt.truncated {
				t.Errorf("read error %v, want truncated %v", err, tt.truncated)
			}
			if got := logs.String(); tt.log != "" && (!strings.Contains(got, tt.log) || !strings.Contains(got, "req-1")) {
				t.Errorf("log %q, want %q with the request id", got, tt.log)
			}
			if tt.truncated {
				return // the handler panicked: nothing was sent on visitErr
			}
			if err := <-visitErr; (err != nil) != tt.wantErr {
				t.Errorf("Visit returned %v", err)
			}
			if tt.wantErr && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d: an error before the first byte must still become an error answer", resp.StatusCode)
			}
		})
	}
}

type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
