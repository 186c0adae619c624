package alumni

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// countCacheSize is the most live counts remembered at once.
const countCacheSize = 1024

// countCache remembers the answers of live counts — filtered facets and analytics, which read
// every matching record — for a short time, and makes concurrent identical counts share one
// query. Its key is the statement with its arguments, which already hold every privacy rule
// of the caller's role, so one role never sees another's counts. Each replica has its own:
// answers may lag writes by up to the time to live, which suits counts that are read as
// dashboards and filter sidebars (lists, records and exports are never cached).
type countCache struct {
	answers *expirable.LRU[string, any]
	group   singleflight.Group
}

// SetCountCache makes live counts be remembered for ttl; 0 (the default) turns that off.
func (s *Store) SetCountCache(ttl time.Duration) {
	s.counts = nil
	if ttl > 0 {
		s.counts = &countCache{answers: expirable.NewLRU[string, any](countCacheSize, nil, ttl)}
	}
}

// cachedCount answers the count q with run, or with a remembered answer of the same statement.
// clone copies an answer, so that callers never share one.
func cachedCount[T any](ctx context.Context, c *countCache, q sqlText, clone func(T) T, run func(context.Context) (T, error)) (T, error) {
	if c == nil {
		return run(ctx)
	}
	key := q.String() + "\x00" + fmt.Sprint(q.args...)
	if v, ok := c.answers.Get(key); ok {
		return clone(v.(T)), nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		v, err := run(ctx)
		if err == nil {
			c.answers.Add(key, v)
		}
		return v, err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return clone(v.(T)), nil
}
