package database

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/alumnid/alumnid/internal/derrors"
)

func TestUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{fmt.Errorf("list: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("get: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), true},
		{mysql.ErrInvalidConn, true},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, true},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout"}, true},
		{&mysql.MySQLError{Number: 1969, Message: "Query execution was interrupted (max_statement_time exceeded)"}, true},
		{&mysql.MySQLError{Number: 3024, Message: "Query execution was interrupted, maximum statement execution time exceeded"}, true},
		{&mysql.MySQLError{Number: 1317, Message: "Query execution was interrupted"}, true},
		{&mysql.MySQLError{Number: 1290, Message: "The MariaDB server is running with the --read-only option"}, true},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}, false},
		{&mysql.MySQLError{Number: 1406, Message: "Data too long"}, false},
	}
	for _, tt := range tests {
		if got := Unavailable(tt.err); got != tt.want {
			t.Errorf("Unavailable(%v) = %v", tt.err, got)
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, tt := range []struct {
		err  error
		key  string
		want bool
	}{
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'a@b.c' for key 'uq_users_email'"}, "uq_users_email", true},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'a@b.c' for key 'users.uq_users_email'"}, "uq_users_email", true},
		{fmt.Errorf("write: %w", &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'x' for key 'PRIMARY'"}), "PRIMARY", true},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, "", false},
		{errors.New("Duplicate entry"), "", false},
	} {
		key, ok := DuplicateKey(tt.err)
		if key != tt.key || ok != tt.want {
			t.Errorf("DuplicateKey(%v) = %q, %v; want %q, %v", tt.err, key, ok, tt.key, tt.want)
		}
	}
}

// Classify turns the failures that mean "try again later" into derrors.Unavailable where the
// SQL runs, keeping the driver's error as the cause; everything else passes as it is.
func TestClassify(t *testing.T) {
	lockWait := &mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}
	conflict := derrors.New(derrors.Conflict, "taken")
	plain := errors.New("boom")
	if Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	for _, err := range []error{lockWait, fmt.Errorf("get alumnus: %w", lockWait), fmt.Errorf("list: %w", context.DeadlineExceeded)} {
		got := Classify(err)
		d := derrors.As(got)
		if d == nil || d.Kind != derrors.Unavailable || !errors.Is(d.Cause, err) || !errors.Is(got, err) {
			t.Errorf("Classify(%v) = %#v, want Unavailable caused by it", err, got)
		}
		if !strings.Contains(got.Error(), err.Error()) {
			t.Errorf("Classify(%v).Error() = %q hides the cause", err, got.Error())
		}
	}
	var myErr *mysql.MySQLError
	if !errors.As(Classify(lockWait), &myErr) || myErr.Number != 1205 {
		t.Error("the driver's error is not reachable through the classified one")
	}
	for _, err := range []error{conflict, plain, fmt.Errorf("wrapped: %w", conflict)} {
		if got := Classify(err); got != err { //nolint:errorlint // the very same error, not one wrapping it
			t.Errorf("Classify(%v) = %v, want it unchanged", err, got)
		}
	}
	err := fmt.Errorf("read: %w", lockWait)
	ClassifyErr(&err)
	if derrors.KindOf(err) != derrors.Unavailable {
		t.Errorf("ClassifyErr left %v", err)
	}
}
