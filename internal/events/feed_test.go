package events_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/events"
)

func startFeed(t *testing.T, sqlDB *sql.DB) *events.Feed {
	t.Helper()
	f := events.NewFeed(sqlDB, events.Config{PollInterval: 10 * time.Millisecond, GapTimeout: 200 * time.Millisecond},
		slog.New(slog.DiscardHandler), nil)
	ctx, stop := context.WithCancel(context.Background())
	go f.Run(ctx)
	t.Cleanup(func() { stop(); <-f.Stopped() })
	return f
}

const insertEvent = "INSERT INTO audit_events (occurred_at, action, entity_type, entity_id, changes) VALUES (UTC_TIMESTAMP(6), 'alumnus.create', 'alumnus', ?, '[]')"

func next(t *testing.T, sub *events.Subscription) events.Event {
	t.Helper()
	select {
	case e := <-sub.Events():
		return *e
	case <-time.After(30 * time.Second): // a bound on a wait, not a speed requirement
		t.Fatal("no event came")
		return events.Event{}
	}
}

// A change whose transaction commits after a later one's is neither missed nor reordered, and
// one that rolls back holds the others up only for the gap timeout.
func TestFeedWaitsForTransactionsInFlight(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	f := startFeed(t, sqlDB)
	ctx := context.Background()
	sub, _, _, err := f.Subscribe(ctx, auth.Principal{Role: auth.RoleAdmin}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	slow, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.ExecContext(ctx, insertEvent, "SLOW"); err != nil { // takes the lower id
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, insertEvent, "FAST"); err != nil { // commits first
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // longer than the gap timeout: the feed must still wait
	select {
	case e := <-sub.Events():
		t.Fatalf("got %s while an earlier change was still in flight", e.AlumnusID)
	default:
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	first, second := next(t, sub), next(t, sub)
	if first.AlumnusID != "SLOW" || second.AlumnusID != "FAST" || first.ID >= second.ID {
		t.Fatalf("got %s (%d) then %s (%d), want SLOW then FAST in id order", first.AlumnusID, first.ID, second.AlumnusID, second.ID)
	}

	// A rolled-back change leaves a gap that is given up after the timeout.
	undone, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := undone.ExecContext(ctx, insertEvent, "UNDONE"); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, insertEvent, "AFTER"); err != nil {
		t.Fatal(err)
	}
	if err := undone.Rollback(); err != nil {
		t.Fatal(err)
	}
	if e := next(t, sub); e.AlumnusID != "AFTER" {
		t.Fatalf("got %s, want AFTER", e.AlumnusID)
	}
}

// Stopping the feed ends its subscriptions, and later subscriptions are refused.
func TestFeedStopsSubscriptions(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	f := events.NewFeed(sqlDB, events.Config{PollInterval: 10 * time.Millisecond}, slog.New(slog.DiscardHandler), nil)
	ctx, stop := context.WithCancel(context.Background())
	go f.Run(ctx)
	sub, _, _, err := f.Subscribe(context.Background(), auth.Principal{Role: auth.RoleStaff}, 0)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	<-f.Stopped()
	<-sub.Done()
	if !errors.Is(sub.Err(), events.ErrStopped) {
		t.Errorf("subscription ended with %v, want ErrStopped", sub.Err())
	}
	if _, _, _, err := f.Subscribe(context.Background(), auth.Principal{Role: auth.RoleStaff}, 0); !errors.Is(err, events.ErrStopped) {
		t.Errorf("subscribing to a stopped feed: %v, want ErrStopped", err)
	}
}
