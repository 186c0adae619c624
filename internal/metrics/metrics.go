// Package metrics holds the service's Prometheus metrics: HTTP requests by route template and
// status, requests in flight, the database pool, login failures, imported and exported rows,
// and the Go runtime and process. A nil *Metrics records nothing, so packages take one
// without caring whether metrics are on.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of the service.
const namespace = "alumnid"

// Metrics are the service's collectors, registered on a registry of their own (not the
// global one, so that tests can run several servers in one process).
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	queued        prometheus.Gauge
	shed          *prometheus.CounterVec
	loginFailures *prometheus.CounterVec
	exportRows    *prometheus.CounterVec
	importRows    *prometheus.CounterVec
	eventDelay    prometheus.Histogram
	subscribers   prometheus.Gauge
	dropped       *prometheus.CounterVec
	backups       *prometheus.CounterVec
	backupLast    *prometheus.GaugeVec
}

// New returns the service's metrics with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_queued",
			Help: "HTTP requests waiting for a turn to be worked on.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_shed_total",
			Help: "HTTP requests refused with 503 because the replica was busy, by lane (api, export, upload) and reason (queue_full, queue_timeout).",
		}, []string{"lane", "reason"}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "auth", Name: "login_failures_total",
			Help: "Sign-ins refused, by reason (credentials, throttled, other).",
		}, []string{"reason"}),
		exportRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "export", Name: "rows_total",
			Help: "Records written by exports, by format.",
		}, []string{"format"}),
		importRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "import", Name: "rows_total",
			Help: "Import rows processed, by mode (apply, dry_run) and outcome (created, updated, unchanged, rejected).",
		}, []string{"mode", "outcome"}),
		eventDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "events", Name: "delay_seconds",
			Help:    "Time from a change to its event being delivered to this replica's subscribers.",
			Buckets: []float64{.05, .1, .2, .3, .5, .75, 1, 2, 5, 10, 30},
		}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "events", Name: "subscribers",
			Help: "WebSocket subscribers to change events on this replica.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "events", Name: "dropped_subscribers_total",
			Help: "Subscribers disconnected by the server, by reason (too_slow).",
		}, []string{"reason"}),
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "backup", Name: "runs_total",
			Help: "Scheduled backups this replica took, by outcome (success, failure).",
		}, []string{"outcome"}),
		backupLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "backup", Name: "last_success",
			Help: "The last successful scheduled backup of this replica: its start (unix seconds), duration (seconds), size (bytes) and rows.",
		}, []string{"measure"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inFlight, m.queued, m.shed, m.loginFailures, m.exportRows, m.importRows,
		m.eventDelay, m.subscribers, m.dropped, m.backups, m.backupLast,
	)
	return m
}

// Register adds more collectors (another package's metrics) to m.
func (m *Metrics) Register(cs ...prometheus.Collector) {
	if m != nil {
		m.reg.MustRegister(cs...)
	}
}

// WatchDB adds the statistics of the connection pool db (open, in use, idle, waits).
func (m *Metrics) WatchDB(db *sql.DB) {
	m.Register(collectors.NewDBStatsCollector(db, namespace))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// RequestStarted counts a request in flight; call the returned function with its route
// template, method and status when it is answered.
func (m *Metrics) RequestStarted() func(route, method string, status int) {
	if m == nil {
		return func(string, string, int) {}
	}
	start := time.Now()
	m.inFlight.Inc()
	return func(route, method string, status int) {
		m.inFlight.Dec()
		code := strconv.Itoa(status)
		m.requests.WithLabelValues(route, method, code).Inc()
		m.duration.WithLabelValues(route, method, code).Observe(time.Since(start).Seconds())
	}
}

// Queued counts requests that start (+1) or stop (-1) waiting for a turn.
func (m *Metrics) Queued(delta int) {
	if m != nil {
		m.queued.Add(float64(delta))
	}
}

// Shed counts a request refused because the replica was busy.
func (m *Metrics) Shed(lane, reason string) {
	if m != nil {
		m.shed.WithLabelValues(lane, reason).Inc()
	}
}

// LoginFailed counts a refused sign-in.
func (m *Metrics) LoginFailed(reason string) {
	if m != nil {
		m.loginFailures.WithLabelValues(reason).Inc()
	}
}

// ExportRows counts n records exported in format.
func (m *Metrics) ExportRows(format string, n int) {
	if m != nil && n > 0 {
		m.exportRows.WithLabelValues(format).Add(float64(n))
	}
}

// ImportRows counts n import rows of mode with outcome.
func (m *Metrics) ImportRows(mode, outcome string, n int) {
	if m != nil && n > 0 {
		m.importRows.WithLabelValues(mode, outcome).Add(float64(n))
	}
}

// Delivered records the delay of an event from its change to its delivery (events.Observer).
func (m *Metrics) Delivered(delay time.Duration) {
	if m != nil {
		m.eventDelay.Observe(delay.Seconds())
	}
}

// Subscribers sets the number of event subscribers (events.Observer).
func (m *Metrics) Subscribers(n int) {
	if m != nil {
		m.subscribers.Set(float64(n))
	}
}

// Dropped counts a subscriber disconnected for reason (events.Observer).
func (m *Metrics) Dropped(reason string) {
	if m != nil {
		m.dropped.WithLabelValues(reason).Inc()
	}
}

// Backup records a scheduled backup that ran (ok when it succeeded).
func (m *Metrics) Backup(ok bool, start time.Time, took time.Duration, bytes, rows int64) {
	if m == nil {
		return
	}
	if !ok {
		m.backups.WithLabelValues("failure").Inc()
		return
	}
	m.backups.WithLabelValues("success").Inc()
	m.backupLast.WithLabelValues("start_seconds").Set(float64(start.Unix()))
	m.backupLast.WithLabelValues("duration_seconds").Set(took.Seconds())
	m.backupLast.WithLabelValues("bytes").Set(float64(bytes))
	m.backupLast.WithLabelValues("rows").Set(float64(rows))
}
