package database

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/go-sql-driver/mysql"
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
