package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/alumnid/alumnid/internal/derrors"
)

// MySQL and MariaDB error numbers that mean "try again": the work itself was fine.
const (
	errLockWaitTimeout  = 1205
	errDeadlock         = 1213
	errTooManyConns     = 1040
	errServerShutdown   = 1053 // the server is shutting down
	errQueryInterrupted = 1317 // KILL QUERY, or the server stopping
	errReadOnly         = 1290 // --read-only (a replica during a failover) refuses writes
	errReadOnlyMode     = 1836 // the same, as MySQL says it in some cases
	errConnectionKilled = 1927 // MariaDB: KILL CONNECTION
	errStatementTimeout = 1969 // MariaDB: max_statement_time passed
	errExecutionTimeout = 3024 // MySQL: max_execution_time passed
)

// retryable are the server errors Unavailable reports.
var retryable = map[uint16]bool{
	errLockWaitTimeout: true, errDeadlock: true, errTooManyConns: true, errServerShutdown: true,
	errQueryInterrupted: true, errReadOnly: true, errReadOnlyMode: true, errConnectionKilled: true,
	errStatementTimeout: true, errExecutionTimeout: true,
}

// Unavailable reports whether err means the database could not do the work right now — it is
// unreachable, the connection broke, the request's deadline passed, the statement ran past
// the statement timeout, the server is stopping or read-only, or the transaction lost a lock
// race — so that the caller should answer "try again later" rather than "bug".
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr *net.OpError
	var myErr *mysql.MySQLError
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, mysql.ErrInvalidConn),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &myErr):
		return retryable[myErr.Number]
	}
	return false
}

// errUnavailable is the detail of a classified failure: the client may only try again.
const errUnavailable = "The service cannot answer right now; try again shortly."

// Classify returns err as a derrors.Unavailable failure, with err as its cause, when err
// means the database could not do the work right now (Unavailable); otherwise err as it is. The
// domain packages classify their errors where the SQL runs (Transact does for every
// transaction; readers with ClassifyErr), so the layers above decide an answer by the kind
// alone and never look at the driver's errors.
func Classify(err error) error {
	if err == nil || derrors.As(err) != nil || !Unavailable(err) {
		return err
	}
	return &derrors.Error{Kind: derrors.Unavailable, Detail: errUnavailable, Cause: err}
}

// ClassifyErr classifies *err in place: `defer database.ClassifyErr(&err)` in a function with
// a named error result.
func ClassifyErr(err *error) { *err = Classify(*err) }

// Deadlock reports whether err is a deadlock: the database rolled the transaction back, and
// running it again is likely to succeed.
func Deadlock(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == errDeadlock
}

// errDuplicateKey is MySQL's "Duplicate entry … for key …".
const errDuplicateKey = 1062

// DuplicateKey reports whether err is a duplicate-key error, and on which unique key: the
// key's name without the table prefix MySQL 8 adds ('alumni.uq_alumni_email' and MariaDB's
// 'uq_alumni_email' both give "uq_alumni_email").
func DuplicateKey(err error) (key string, ok bool) {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) || myErr.Number != errDuplicateKey {
		return "", false
	}
	msg := strings.TrimSuffix(myErr.Message, "'")
	key = msg[strings.LastIndexByte(msg, '\'')+1:]
	return key[strings.LastIndexByte(key, '.')+1:], true
}
