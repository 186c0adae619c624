// Package events turns the audit trail into a live feed of change events for subscribers on
// this replica. Every replica reads the same trail (written in the transaction of each change),
// so a change made through any replica reaches every subscriber, in the trail's order.
//
// The trail's ids are assigned when a row is inserted, not when its transaction commits: a
// reader can see id 11 before id 10 commits. The feed reads the trail with a locking read
// (READ COMMITTED, LOCK IN SHARE MODE), which waits for the transactions that inserted rows in
// the range it reads to end, and delivers in id order only what is settled: every lower id
// seen, or still missing GapTimeout after a later one was seen (a transaction that rolled
// back, an id a bulk insert reserved but did not use, or — for a few microseconds — an id
// allocated but not yet inserted, which the grace covers).
package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alumnid/alumnid/internal/auth"
)

// Type is what an event says happened (the contract's EventType).
type Type string

// The event types.
const (
	Ready           Type = "ready"
	Resync          Type = "resync"
	AlumnusCreated  Type = "alumnus.created"
	AlumnusUpdated  Type = "alumnus.updated"
	AlumnusDeleted  Type = "alumnus.deleted"
	AlumnusRestored Type = "alumnus.restored"
	ImportProgress  Type = "import.progress"
	ImportCompleted Type = "import.completed"
)

// Event is one change, as subscribers receive it.
type Event struct {
	ID         int64
	Type       Type
	OccurredAt time.Time
	AlumnusID  string
	Fields     []string // the changed fields, by API name (alumnus.updated)
	Import     *ImportState

	record *record // the record as it is now, for deciding who may see the event
}

// ImportState is an import's progress after a batch.
type ImportState struct {
	ID                                    string
	Status                                string
	ProcessedRows                         int
	Created, Updated, Unchanged, Rejected int
}

// Config tunes a Feed; zero values take the defaults.
type Config struct {
	PollInterval time.Duration // how often the trail is read (default 200ms)
	GapTimeout   time.Duration // how long a missing id holds back later events (default 2s)
	ReplayWindow time.Duration // how old an event may be to be replayed on resume (default 1h)
	ReplayLimit  int           // most events replayed on resume (default 10,000)
	Buffer       int           // events queued per subscriber before it is dropped (default 1024)
}

func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.GapTimeout <= 0 {
		c.GapTimeout = 2 * time.Second
	}
	if c.ReplayWindow <= 0 {
		c.ReplayWindow = time.Hour
	}
	if c.ReplayLimit <= 0 {
		c.ReplayLimit = 10000
	}
	if c.Buffer <= 0 {
		c.Buffer = 1024
	}
	return c
}

// Observer is told what the feed does (metrics); a nil Observer is fine.
type Observer interface {
	Delivered(delay time.Duration) // an event became settled, delay after it occurred
	Subscribers(n int)             // the number of subscribers changed
	Dropped(reason string)         // a subscriber was dropped
}

// Feed reads the audit trail and fans its events out to this replica's subscribers.
type Feed struct {
	db  *sql.DB
	cfg Config
	log *slog.Logger
	obs Observer

	mu      sync.Mutex
	settled int64               // every id up to here is delivered or given up
	gapSeen map[int64]time.Time // a missing id, and when it was first missed
	subs    map[*Subscription]struct{}
	started chan struct{} // closed once settled is known
	stopped chan struct{} // closed when Run returns
}

// NewFeed returns a feed on sqlDB; Run starts it.
func NewFeed(sqlDB *sql.DB, cfg Config, log *slog.Logger, obs Observer) *Feed {
	return &Feed{
		db: sqlDB, cfg: cfg.withDefaults(), log: log, obs: obs,
		gapSeen: map[int64]time.Time{}, subs: map[*Subscription]struct{}{},
		started: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// Run reads the trail until ctx ends, then closes every subscription.
func (f *Feed) Run(ctx context.Context) {
	defer close(f.stopped)
	defer f.closeAll()
	for {
		err := f.start(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		f.log.WarnContext(ctx, "events: cannot read the audit trail", slog.String("error", err.Error()))
		if !sleep(ctx, time.Second) {
			return
		}
	}
	close(f.started)
	for sleep(ctx, f.cfg.PollInterval) {
		if f.idle() {
			// Nobody to deliver to: keep up with one cheap query instead of the locking read.
			if err := f.start(ctx); err != nil && ctx.Err() == nil {
				f.log.WarnContext(ctx, "events: reading the audit trail failed", slog.String("error", err.Error()))
			}
			continue
		}
		for {
			more, err := f.poll(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.log.WarnContext(ctx, "events: reading the audit trail failed", slog.String("error", err.Error()))
				}
				break
			}
			if !more {
				break
			}
		}
	}
}

// Stopped is closed when Run has returned: no more events will come.
func (f *Feed) Stopped() <-chan struct{} { return f.stopped }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// idle reports whether the feed has no subscribers.
func (f *Feed) idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs) == 0
}

// start moves the settled id up to the newest event that occurred longer than GapTimeout ago,
// so that changes still committing when the replica starts (or while nobody subscribes) are
// read too. It never moves it back.
func (f *Feed) start(ctx context.Context) error {
	var id sql.NullInt64
	err := f.db.QueryRowContext(ctx, "SELECT id FROM audit_events WHERE occurred_at < ? ORDER BY occurred_at DESC, id DESC LIMIT 1",
		time.Now().UTC().Add(-f.cfg.GapTimeout)).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find the start of the audit trail: %w", err)
	}
	f.mu.Lock()
	f.settled = max(f.settled, id.Int64)
	f.mu.Unlock()
	return nil
}

// pollLimit is the most trail rows one poll reads.
const pollLimit = 1000

// poll reads the trail after the settled id and delivers what is settled. It reports whether
// a full page was read (there may be more).
func (f *Feed) poll(ctx context.Context) (bool, error) {
	f.mu.Lock()
	after := f.settled
	f.mu.Unlock()
	rows, err := readSettledTrail(ctx, f.db, after, pollLimit)
	if err != nil {
		return false, err
	}
	now := time.Now()
	var ready []trailRow
	expect := after + 1
	for _, r := range rows {
		if r.id != expect {
			first, seen := f.gapSeen[expect]
			if !seen {
				f.gapSeen[expect] = now
				break
			}
			if now.Sub(first) < f.cfg.GapTimeout {
				break
			}
			f.log.DebugContext(ctx, "events: gave up waiting for missing trail ids", slog.Int64("from", expect), slog.Int64("to", r.id-1))
		}
		ready = append(ready, r)
		expect = r.id + 1
	}
	for id := range f.gapSeen {
		if id < expect {
			delete(f.gapSeen, id)
		}
	}
	events, err := toEvents(ctx, f.db, ready)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(ready) > 0 {
		f.settled = ready[len(ready)-1].id
	}
	for _, e := range events {
		if f.obs != nil {
			f.obs.Delivered(now.Sub(e.OccurredAt))
		}
		for s := range f.subs {
			s.offer(e)
		}
	}
	return len(rows) == pollLimit && len(ready) == len(rows), nil
}

// Subscription is one subscriber's queue of events. Events passes them in order; Done is
// closed when the subscription ends (Err says why).
type Subscription struct {
	f      *Feed
	p      auth.Principal
	events chan *Event // pointers: an idle subscriber's queue costs 8 bytes a slot
	done   chan struct{}
	err    error
	once   sync.Once
}

// ErrTooSlow ends a subscription whose queue is full; ErrStopped one whose feed stopped.
var (
	ErrTooSlow = errors.New("the subscriber fell behind")
	ErrStopped = errors.New("the server is stopping")
)

// Events returns the queue of events.
func (s *Subscription) Events() <-chan *Event { return s.events }

// Done is closed when the subscription has ended.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the subscription ended (nil while it runs or when closed by its subscriber).
func (s *Subscription) Err() error {
	<-s.done
	return s.err
}

// SetPrincipal changes who the subscription delivers for (a renewed token).
func (s *Subscription) SetPrincipal(p auth.Principal) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.p = p
}

// offer queues e if the subscriber may see it, and ends the subscription when the queue is
// full. The feed's lock is held.
func (s *Subscription) offer(e Event) {
	e, ok := visible(s.p, e)
	if !ok {
		return
	}
	select {
	case <-s.done:
	case s.events <- &e:
	default:
		s.f.remove(s, ErrTooSlow)
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.remove(s, nil)
}

// remove ends s with err; the feed's lock is held.
func (f *Feed) remove(s *Subscription, err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		delete(f.subs, s)
		if f.obs != nil {
			f.obs.Subscribers(len(f.subs))
			if errors.Is(err, ErrTooSlow) {
				f.obs.Dropped("too_slow")
			}
		}
	})
}

func (f *Feed) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		f.remove(s, ErrStopped)
	}
}

// Subscribe adds a subscriber for p. With after > 0 it first returns the events after that id
// that p may see (the replay), and the live events follow on the subscription: none missed,
// none twice. resync is true when events after it are no longer kept (older than the replay
// window, or more than the replay limit): the subscriber should reload its state.
func (f *Feed) Subscribe(ctx context.Context, p auth.Principal, after int64) (sub *Subscription, replay []Event, resync bool, err error) {
	select {
	case <-f.started:
	case <-f.stopped:
		return nil, nil, false, ErrStopped
	case <-ctx.Done():
		return nil, nil, false, ctx.Err()
	}
	f.mu.Lock()
	select {
	case <-f.stopped:
		f.mu.Unlock()
		return nil, nil, false, ErrStopped
	default:
	}
	sub = &Subscription{f: f, p: p, events: make(chan *Event, f.cfg.Buffer), done: make(chan struct{})}
	f.subs[sub] = struct{}{}
	upTo := f.settled
	if f.obs != nil {
		f.obs.Subscribers(len(f.subs))
	}
	f.mu.Unlock()
	if after <= 0 || after >= upTo {
		return sub, nil, false, nil
	}
	replay, resync, err = f.replay(ctx, p, after, upTo)
	if err != nil {
		sub.Close()
		return nil, nil, false, err
	}
	return sub, replay, resync, nil
}

// replay returns the events in (after, upTo] that p may see, or resync when some of them are
// beyond the window.
func (f *Feed) replay(ctx context.Context, p auth.Principal, after, upTo int64) ([]Event, bool, error) {
	rows, err := readTrail(ctx, f.db, after, upTo, f.cfg.ReplayLimit+1, "")
	if err != nil {
		return nil, false, err
	}
	oldest := time.Now().Add(-f.cfg.ReplayWindow)
	if len(rows) > f.cfg.ReplayLimit || len(rows) > 0 && rows[0].occurredAt.Before(oldest) {
		return nil, true, nil
	}
	events, err := toEvents(ctx, f.db, rows)
	if err != nil {
		return nil, false, err
	}
	out := events[:0]
	for _, e := range events {
		if e, ok := visible(p, e); ok {
			out = append(out, e)
		}
	}
	return out, false, nil
}
