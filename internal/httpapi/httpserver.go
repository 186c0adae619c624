package httpapi

import (
	"log"
	"net/http"
	"time"
)

// Timeouts are the HTTP server's limits on slow clients. Uploads, exports and the events
// WebSocket move the read and write deadlines of their own requests (see upload.go, export.go
// and events.go); every other request lives within these.
type Timeouts struct {
	// ReadHeader is the time to read a request's headers, from the first byte: a client that
	// sends them a byte at a time (slowloris) is cut off when it runs out.
	ReadHeader time.Duration
	// Read is the time to read a whole request, Write the time to write its answer.
	Read, Write time.Duration
	// Idle is how long a keep-alive connection waits for its next request.
	Idle time.Duration
}

// MaxHeaderBytes is the most header bytes a request may have; larger ones are answered 431.
const MaxHeaderBytes = 64 << 10

// NewHTTPServer returns the server that serves h with timeouts t, logging its own errors
// (failed TLS handshakes, malformed requests, panics outside Echo) to errorLog. It is the one
// place the server's limits are set: `alumnid serve` and the tests
// (apitest.WithHTTPServerTimeouts) both use it.
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
