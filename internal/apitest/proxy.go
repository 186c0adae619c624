package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/go-sql-driver/mysql"
	"github.com/rs/zerolog"
)

// Proxy is a toxiproxy (run in the test process) between a test server's connection pool and
// the database server: a test disables it to make the database unreachable, or adds toxics
// (latency, bandwidth, timeout, reset_peer) to make it slow or broken.
type Proxy struct {
	t     testing.TB
	proxy *toxiproxy.Proxy
}

// NewProxy starts a proxy on a free port of 127.0.0.1 in front of the database server of
// ServerDSN and stops it when t ends.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	cfg, err := mysql.ParseDSN(ServerDSN())
	if err != nil {
		t.Fatalf("ALUMNI_TEST_DSN: %v", err)
	}
	if cfg.Net != "tcp" {
		t.Skipf("the database server is reached over %s; a proxy needs tcp", cfg.Net)
	}
	zerolog.SetGlobalLevel(zerolog.WarnLevel) // the toxics log every interruption at trace level
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "database", "127.0.0.1:0", cfg.Addr)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{t: t, proxy: p}
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.proxy.Listen }

// DSN returns dsn with its address replaced by the proxy's.
func (p *Proxy) DSN(dsn string) string {
	p.t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		p.t.Fatal(err)
	}
	cfg.Addr = p.Addr()
	return cfg.FormatDSN()
}

// Disable closes the proxy's listener and every connection through it: the database is
// unreachable (connections are refused) until Enable.
func (p *Proxy) Disable() { p.proxy.Stop() }

// Enable listens again, on the same address.
func (p *Proxy) Enable() {
	p.t.Helper()
	if err := p.proxy.Start(); err != nil && !errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
		p.t.Fatalf("restart proxy: %v", err)
	}
}

// Toxic is one toxic: Type is a toxiproxy toxic type (latency, bandwidth, timeout, slicer,
// reset_peer, limit_data, slow_close), Stream "upstream" (to the database) or "downstream"
// (to the service, the default), Attributes its settings (latency and jitter in ms, rate in
// KB/s, timeout in ms; see toxiproxy's README).
type Toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream,omitempty"`
	Toxicity   float32        `json:"toxicity,omitempty"`
	Attributes map[string]any `json:"attributes"`
}

// AddToxic adds tx to every connection through the proxy, open or future.
func (p *Proxy) AddToxic(tx Toxic) {
	p.t.Helper()
	raw, err := json.Marshal(tx)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.proxy.Toxics.AddToxicJson(bytes.NewReader(raw)); err != nil {
		p.t.Fatalf("add toxic %s: %v", tx.Name, err)
	}
}

// RemoveToxics removes every toxic: the proxy passes data through unchanged again.
func (p *Proxy) RemoveToxics() {
	p.proxy.Toxics.ResetToxics(context.Background())
}

// ThroughProxy makes the server's connection pool (and its import worker and event feed)
// reach the database through p. Server.DSN stays the direct one, so that a test can check
// the database on a healthy connection.
func ThroughProxy(p *Proxy) Option {
	return func(o *serverOptions) { o.proxy = p }
}
