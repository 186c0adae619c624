package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/httpapi"
	"github.com/alumnid/alumnid/internal/seed"
)

// Slow and hostile clients, against the HTTP server `alumnid serve` runs (its timeouts made
// short). A WebSocket subscriber that stops reading is dropped without affecting the others:
// TestEventsSlowSubscriberDropped (events_test.go).

// hangGuard bounds every wait below: it fails a test only when something hangs.
const hangGuard = 2 * time.Minute

// shortTimeouts are the server's timeouts in these tests: long enough for any honest request
// on a loaded machine, short enough to wait for.
var shortTimeouts = httpapi.Timeouts{ReadHeader: time.Second, Read: 20 * time.Second, Write: 20 * time.Second, Idle: 20 * time.Second}

// Connections that send their headers a byte at a time are closed by the header timeout,
// without an answer, while other clients keep being answered.
func TestSlowlorisClosedByHeaderTimeout(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithHTTPServerTimeouts(shortTimeouts), apitest.WithoutImportWorker())
	addr := strings.TrimPrefix(s.URL, "http://")
	const slow = 16
	type result struct {
		got  []byte
		sent int
	}
	closed := make(chan result, slow)
	for range slow {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		var sent atomic.Int64
		go func() {
			headers := "GET /api/v1/alumni HTTP/1.1\r\nHost: alumnid\r\nAuthorization: Bearer " + s.Client.Token() +
				"\r\nX-Slow: " + strings.Repeat("a", 1<<20) // never ends
			for i := range len(headers) {
				if _, err := conn.Write([]byte{headers[i]}); err != nil {
					return
				}
				sent.Add(1)
				time.Sleep(20 * time.Millisecond)
			}
		}()
		go func() {
			got, _ := io.ReadAll(conn) // until the server closes the connection
			closed <- result{got, int(sent.Load())}
		}()
	}
	// The others are answered meanwhile.
	for range 5 {
		mustStatus(t, s.Client.Get("/api/v1/alumni?limit=1", nil), http.StatusOK)
	}
	for range slow {
		select {
		case r := <-closed:
			// Closed with a 400 (net/http's answer to headers that did not arrive in time), or
			// without an answer.
			if len(r.got) != 0 && !strings.HasPrefix(string(r.got), "HTTP/1.1 400 ") {
				t.Errorf("a slowloris connection was answered after %d header bytes: %q", r.sent, r.got)
			}
		case <-time.After(hangGuard):
			t.Fatal("slowloris connections are still open")
		}
	}
	mustStatus(t, s.Client.Get("/api/v1/alumni?limit=1", nil), http.StatusOK)
}

// Headers larger than MaxHeaderBytes are refused with 431 as soon as they pass it.
func TestHugeHeadersRefused(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithHTTPServerTimeouts(shortTimeouts), apitest.WithoutImportWorker())
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/api/v1/alumni", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", 2*httpapi.MaxHeaderBytes))
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

// An export read at a few KB/s hits the export's write deadline (ExportStallTimeout): the
// connection is closed before the end, the export is audited as cut short, its database
// connection goes back to the pool, and other clients are answered meanwhile.
func TestSlowExportReaderHitsWriteDeadline(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.Domain.ExportChunk = 50
	cfg.ExportStallTimeout = 200 * time.Millisecond
	s := apitest.NewServer(t, cfg, apitest.WithHTTPServerTimeouts(shortTimeouts), apitest.WithoutImportWorker())
	const total = 3000
	if _, err := seed.Run(context.Background(), s.DB, seed.Options{Count: total, RandSeed: 7}); err != nil {
		t.Fatal(err)
	}
	// Long notes make the export (about 16 MB) larger than the socket buffers on both ends
	// (Linux lets a sender's grow to 4 MB), so that the server's writes have to wait for the
	// reader.
	if _, err := s.DB.Exec("UPDATE alumni SET notes = REPEAT('n', 5000)"); err != nil {
		t.Fatal(err)
	}
	// A client with a small receive buffer, so that the server's writes wait for it.
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return conn, err
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/api/v1/alumni/export?format=csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Client.Token())
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// About 5 KB/s: 512 bytes every 100 ms, until the test ends.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()

	// The export gives up (and writes its audit event) while the client is still reading,
	// slowly: the server's socket buffer (up to 4 MB) fills, and a write then waits longer
	// than the stall timeout.
	var rows, complete string
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(20 * time.Millisecond) {
		err := s.DB.QueryRow(`SELECT JSON_UNQUOTE(JSON_EXTRACT(changes, '$[3].after')), JSON_UNQUOTE(JSON_EXTRACT(changes, '$[4].after'))
			FROM audit_events WHERE action = 'alumni.export'`).Scan(&rows, &complete)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow export was not cut off: %v", err)
		}
	}
	var n int
	if _, err := fmt.Sscan(rows, &n); err != nil || n >= total || complete != "false" {
		t.Errorf("export event: rows %s, complete %s; want fewer than %d rows, not complete", rows, complete, total)
	}
	for deadline := time.Now().Add(hangGuard); !strings.Contains(s.Logs(), "i/o timeout"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the export did not end with a write timeout")
		}
	}
	// Its database connection is back in the pool (the events feed and the request below use
	// the pool briefly; an export holding one would keep InUse above zero).
	for deadline := time.Now().Add(hangGuard); s.DB.Stats().InUse != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d database connections still in use", s.DB.Stats().InUse)
		}
	}
	mustStatus(t, s.Client.Get("/api/v1/alumni?limit=1", nil), http.StatusOK)
}

// endless is a request body far larger than any limit: prefix, then line over and over, up
// to 1 GiB. It counts what was read from it.
type endless struct {
	prefix, line string
	read         atomic.Int64
}

const endlessSize = 1 << 30

func (e *endless) Read(p []byte) (int, error) {
	off := e.read.Load()
	if off >= endlessSize {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < endlessSize {
		pos := off + int64(n)
		if pos < int64(len(e.prefix)) {
			n += copy(p[n:], e.prefix[pos:])
			continue
		}
		i := (pos - int64(len(e.prefix))) % int64(len(e.line))
		n += copy(p[n:], e.line[i:])
	}
	e.read.Add(int64(n))
	return n, nil
}

// Bodies over BodyLimit and uploads over ImportMaxBytes are refused with a 413 problem before
// they are read in full: a streamed body much larger than the limit is cut off soon after the
// limit (the client's reader is far from drained), and a Content-Length above the limit is
// answered before any of the body is sent.
func TestOversizedBodiesRefusedBeforeRead(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.ImportMaxBytes = 256 << 10
	cfg.Domain.ImportLimits.MaxRows = 10_000_000
	s := apitest.NewServer(t, cfg, apitest.WithHTTPServerTimeouts(shortTimeouts), apitest.WithoutImportWorker())
	form := "--x\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\napply\r\n" +
		"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\nStudent ID,Notes\n"
	tests := []struct {
		name, path, contentType string
		body                    *endless
		limit                   int64
	}{
		{"JSON body", "/api/v1/alumni", "application/json",
			&endless{prefix: `{"firstName":"Ada","lastName":"King","notes":"`, line: "a"}, cfg.BodyLimit},
		{"merge patch", "/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", "application/merge-patch+json",
			&endless{prefix: `{"notes":"`, line: "b"}, cfg.BodyLimit},
		{"upload", importsPath, "multipart/form-data; boundary=x",
			&endless{prefix: form, line: "S0000001," + strings.Repeat("n", 200) + "\n"}, cfg.ImportMaxBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name+" streamed", func(t *testing.T) {
			method := http.MethodPost
			if strings.Contains(tt.contentType, "merge-patch") {
				method = http.MethodPatch
			}
			req, err := http.NewRequestWithContext(context.Background(), method, s.URL+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set("If-Match", `"1"`)
			req.Header.Set("Authorization", "Bearer "+s.Client.Token())
			resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
			if err != nil {
				t.Fatalf("no answer after %d bytes sent: %v", tt.body.read.Load(), err)
			}
			defer func() { _ = resp.Body.Close() }()
			assertTooLarge(t, resp)
			// The server stopped reading soon after the limit; what it did not read and the
			// socket buffers did not take was never sent.
			if sent := tt.body.read.Load(); sent < tt.limit || sent > 64<<20 {
				t.Errorf("%d bytes of the body were sent, limit %d", sent, tt.limit)
			}
		})
		t.Run(tt.name+" Content-Length", func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			_ = conn.SetDeadline(time.Now().Add(hangGuard))
			method := "POST"
			if strings.Contains(tt.contentType, "merge-patch") {
				method = "PATCH"
			}
			// Headers only: the body never comes. An answer proves it was not waited for.
			_, _ = fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: alumnid\r\nContent-Type: %s\r\nIf-Match: \"1\"\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
				method, tt.path, tt.contentType, s.Client.Token(), tt.limit+1)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			assertTooLarge(t, resp)
		})
	}
}

// assertTooLarge checks that resp is a 413 problem.
func assertTooLarge(t *testing.T, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	var p api.Problem
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(body, &p) != nil || p.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
