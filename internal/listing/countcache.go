package listing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
)

// countCacheSize is the most live counts remembered at once; staleFactor times the time to
// live is how long a remembered count may still be served while a fresh one is counted;
// refreshes is how many such counts run at once in the background; refreshTimeout bounds
// every count the cache runs.
const (
	countCacheSize = 1024
	staleFactor    = 10
	refreshes      = 2
	refreshTimeout = time.Minute
	maxDetached    = 64
)

// countCache remembers the answers of live counts — filtered facets and analytics, which read
// every matching record — for a short time, and makes concurrent identical counts share one
// query. Its key is the statement with its arguments, which already hold every privacy rule
// of the caller's role, so one role never sees another's counts. Each replica has its own:
// answers may lag writes by up to the time to live, which suits counts that are read as
// dashboards and filter sidebars (lists, records and exports are never cached).
//
// An answer older than the time to live (but younger than staleFactor times it) is still
// served once more while it is counted again in the background, so a dashboard never waits
// for a count it saw a minute ago; when the background count fails, the old answer stays.
type countCache struct {
	ttl      time.Duration
	queries  *semaphore.Weighted // live count statements running at once
	answers  *expirable.LRU[string, counted]
	group    singleflight.Group
	busy     chan struct{} // a slot per background refresh
	detached atomic.Int64  // counts running on past the request that started them
}

type counted struct {
	value any
	at    time.Time
}

// DefaultMaxCounts is the number of count statements that run at once, with the cache on,
// that callers of SetCountCache use when their configuration does not say.
const DefaultMaxCounts = 4

// SetCountCache makes live counts be remembered for ttl, and lets at most queries of their
// statements run at once (the others wait, within their request's deadline, so that counting
// never takes every connection); a ttl of 0 (the default) turns both off.
func (s *Reader) SetCountCache(ttl time.Duration, queries int) {
	s.counts = nil
	if ttl > 0 {
		s.counts = &countCache{ttl: ttl, answers: expirable.NewLRU[string, counted](countCacheSize, nil, staleFactor*ttl),
			busy: make(chan struct{}, refreshes), queries: semaphore.NewWeighted(int64(max(queries, 1)))}
	}
}

// cachedCount answers the count q with run, or with a remembered answer of the same statement.
// clone copies an answer, so that callers never share one.
func cachedCount[T any](ctx context.Context, c *countCache, q sqlText, clone func(T) T, run func(context.Context) (T, error)) (T, error) {
	if c == nil {
		return run(ctx)
	}
	key := q.String() + "\x00" + fmt.Sprint(q.args...)
	count := func(ctx context.Context) (any, error) {
		if err := c.queries.Acquire(ctx, 1); err != nil {
			return nil, fmt.Errorf("wait to count: %w", err)
		}
		defer c.queries.Release(1)
		v, err := run(ctx)
		if err == nil {
			c.answers.Add(key, counted{value: v, at: time.Now()})
		}
		return v, err
	}
	if a, ok := c.answers.Get(key); ok {
		if time.Since(a.at) > c.ttl {
			c.refresh(key, count)
		}
		return clone(a.value.(T)), nil
	}
	// The count runs on its own deadline, not the request's: when this request gives up
	// waiting, the count still finishes and is remembered for the next one, so work done
	// under load is never thrown away.
	// At most maxDetached counts run on past their requests; beyond that a count ends with
	// its request, so that requests that give up cannot pile up work.
	done := c.group.DoChan(key, func() (any, error) {
		if c.detached.Add(1) > maxDetached {
			c.detached.Add(-1)
			return count(ctx)
		}
		defer c.detached.Add(-1)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return count(ctx)
	})
	var zero T
	select {
	case r := <-done:
		if r.Err != nil && errors.Is(r.Err, context.Canceled) && ctx.Err() == nil {
			// Shared with a request that gave up (past maxDetached): not this caller's doing.
			return zero, fmt.Errorf("count shared with a request that gave up: %w", context.DeadlineExceeded)
		}
		if r.Err != nil {
			return zero, r.Err
		}
		return clone(r.Val.(T)), nil
	case <-ctx.Done():
		return zero, fmt.Errorf("count: %w", ctx.Err())
	}
}

// refresh counts key again in the background, unless it is being counted already or every
// background slot is taken (a later request will try again).
func (c *countCache) refresh(key string, count func(context.Context) (any, error)) {
	select {
	case c.busy <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-c.busy }()
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		_, _, _ = c.group.Do(key, func() (any, error) { return count(ctx) })
	}()
}
