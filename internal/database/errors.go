package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// MySQL error numbers that mean "try again": the work itself was fine.
const (
	errLockWaitTimeout = 1205
	errDeadlock        = 1213
	errTooManyConns    = 1040
	// The statement ran past the server-side limit set from the request timeout: MariaDB's
	// max_statement_time, MySQL's max_execution_time.
	errMariaDBStatementTime = 1969
	errMySQLExecutionTime   = 3024
)

// Unavailable reports whether err means the database could not do the work right now — it is
// unreachable, the connection broke, the request's deadline passed, or the transaction lost a
// lock race — so that the caller should answer "try again later" rather than "bug".
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
		switch myErr.Number {
		case errLockWaitTimeout, errDeadlock, errTooManyConns, errMariaDBStatementTime, errMySQLExecutionTime:
			return true
		}
	}
	return false
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
