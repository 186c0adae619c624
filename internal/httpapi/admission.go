package httpapi

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/metrics"
)

// Admission defaults: enough work at once to keep a 16-connection pool and two cores busy,
// a queue that absorbs bursts, and a bound on how long a request may wait in it.
const (
	DefaultMaxInFlight  = 64
	DefaultMaxQueue     = 1024
	DefaultQueueTimeout = 5 * time.Second
	DefaultMaxStreams   = 4
	DefaultMaxHeavy     = 4
	// shedRetryAfter is what a shed client is told to wait: short, since load changes fast.
	shedRetryAfter = 2 * time.Second
)

// Admission bounds the work one replica takes on, so that under overload it answers 503 with
// Retry-After at once instead of queueing without bound until every request times out.
type Admission struct {
	// MaxInFlight is how many API requests are worked on at once (0: DefaultMaxInFlight).
	MaxInFlight int
	// MaxQueue is how many more may wait for a turn (0: DefaultMaxQueue); beyond it a request
	// is refused at once.
	MaxQueue int
	// QueueTimeout is the longest a request waits for a turn (0: DefaultQueueTimeout); the
	// wait also ends with the request's own deadline.
	QueueTimeout time.Duration
	// MaxHeavy is how many searches — lists with q or includeTotal, which read every matching
	// record — are worked on at once (0: DefaultMaxHeavy). They wait in the same bounds as
	// other requests, but never take the turns of cheap ones: a bulkhead that keeps reads and
	// writes of single records fast while the database searches.
	MaxHeavy int
	// MaxStreams is how many exports and how many uploads run at once, each (0:
	// DefaultMaxStreams). They last minutes and do not queue: one more is refused at once.
	MaxStreams int
	// MaxPasswordWork is how many requests that hash a password (sign-in, password change,
	// accepting an invitation) are worked on at once (0: one per CPU, as many as the hasher
	// computes at once). They wait in the same bounds as other requests, in a lane of their
	// own: a wave of sign-ins queues behind itself, not in front of the signed-in users' reads.
	MaxPasswordWork int
}

// lane is one admission queue: a number of slots, and a bounded number of waiters.
type lane struct {
	name     string
	slots    *semaphore.Weighted
	waiting  atomic.Int64
	maxQueue int64
	timeout  time.Duration
	metrics  *metrics.Metrics
	// spread, when set, is the longest extra wait (a random part of it) a shed client is
	// told besides shedRetryAfter: clients refused together then come back apart.
	spread time.Duration
}

func newLane(name string, slots, maxQueue int, timeout time.Duration, m *metrics.Metrics) *lane {
	return &lane{name: name, slots: semaphore.NewWeighted(int64(slots)), maxQueue: int64(maxQueue), timeout: timeout, metrics: m}
}

// errOverloaded is the answer to a request the replica has no room for.
var errOverloaded = &derrors.Error{Kind: derrors.Unavailable, RetryAfter: shedRetryAfter,
	Detail: "The service is busy; try again shortly."}

// passwordSpread is the password lane's spread: a wave of sign-ins (everyone arriving at nine)
// that the lane sheds comes back over the next ten seconds, not all again two seconds later.
const passwordSpread = 10 * time.Second

// overloaded is the answer to a request this lane has no room for.
func (l *lane) overloaded() error {
	if l.spread <= 0 {
		return errOverloaded
	}
	e := *errOverloaded
	e.RetryAfter += rand.N(l.spread) //nolint:gosec // spreading retries, not a secret
	return &e
}

// enter waits for a slot within the lane's bounds; the caller must call the returned release.
func (l *lane) enter(ctx context.Context) (release func(), err error) {
	release = func() { l.slots.Release(1) }
	if l.slots.TryAcquire(1) {
		return release, nil
	}
	if l.timeout <= 0 || l.waiting.Add(1) > l.maxQueue {
		if l.timeout > 0 {
			l.waiting.Add(-1)
		}
		l.metrics.Shed(l.name, "queue_full")
		return nil, l.overloaded()
	}
	l.metrics.Queued(1)
	defer func() {
		l.waiting.Add(-1)
		l.metrics.Queued(-1)
	}()
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if err := l.slots.Acquire(ctx, 1); err != nil {
		if !errors.Is(err, context.Canceled) { // not a client that went away
			l.metrics.Shed(l.name, "queue_timeout")
		}
		return nil, l.overloaded()
	}
	return release, nil
}

// admission returns the middleware that makes API requests take a turn: exports and uploads in
// lanes of their own that do not queue, WebSocket subscriptions not at all (they hold no
// database connection between events), everything else in the main lane.
func admission(cfg Admission, m *metrics.Metrics) echo.MiddlewareFunc {
	streams := cmp.Or(cfg.MaxStreams, DefaultMaxStreams)
	api := newLane("api", cmp.Or(cfg.MaxInFlight, DefaultMaxInFlight), cmp.Or(cfg.MaxQueue, DefaultMaxQueue),
		cmp.Or(cfg.QueueTimeout, DefaultQueueTimeout), m)
	heavy := newLane("heavy", cmp.Or(cfg.MaxHeavy, DefaultMaxHeavy), cmp.Or(cfg.MaxQueue, DefaultMaxQueue),
		cmp.Or(cfg.QueueTimeout, DefaultQueueTimeout), m)
	passwords := newLane("password", cmp.Or(cfg.MaxPasswordWork, runtime.NumCPU()), cmp.Or(cfg.MaxQueue, DefaultMaxQueue),
		cmp.Or(cfg.QueueTimeout, DefaultQueueTimeout), m)
	passwords.spread = passwordSpread
	exports := newLane("export", streams, 0, 0, m)
	uploads := newLane("upload", streams, 0, 0, m)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var l *lane
			switch {
			case !strings.HasPrefix(c.Request().URL.Path, "/api/") || isEvents(c):
				return next(c)
			case isExport(c):
				l = exports
			case isUpload(c):
				l = uploads
			case isHeavy(c.Request()):
				l = heavy
			case hashesPassword(c.Request()):
				l = passwords
			default:
				l = api
			}
			release, err := l.enter(c.Request().Context())
			if err != nil {
				return err
			}
			defer release()
			return next(c)
		}
	}
}

// hashesPassword reports whether req is one of the operations that hash a password.
func hashesPassword(req *http.Request) bool {
	if req.Method != http.MethodPost {
		return false
	}
	switch req.URL.Path {
	case "/api/v1/auth/login", "/api/v1/auth/password", "/api/v1/auth/accept-invite":
		return true
	}
	return false
}

// isHeavy reports whether req searches: a list with a search or with its total, whose cost in
// the search index grows with the words' variants (prefixes, typos). Facets and reports with a
// filter also count in the index, with a cost bounded by the values counted.
func isHeavy(req *http.Request) bool {
	if req.Method != http.MethodGet || req.URL.Path != "/api/v1/alumni" {
		return false
	}
	q := req.URL.Query()
	return q.Get("q") != "" || q.Get("includeTotal") == "true"
}
