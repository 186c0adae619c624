// Package database opens the MySQL connection pool, runs migrations and owns transactions.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// PoolConfig sizes the connection pool.
type PoolConfig struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
	MaxIdleTime time.Duration
	// StatementTimeout, when not 0, makes the server itself stop any statement running
	// longer (MariaDB max_statement_time, MySQL max_execution_time for SELECT). A request
	// whose deadline passes only closes its connection; without this the server would go on
	// running the statement for nobody.
	//
	// It also bounds how long one read or write on a connection may block (the driver's
	// readTimeout and writeTimeout, unless the DSN sets them): IOTimeout(StatementTimeout).
	// A query without a deadline (a background worker's) on a connection whose server went
	// silent — a dead host, a network partition — then fails instead of waiting forever.
	StatementTimeout time.Duration
}

// DialTimeout bounds connecting to the server (the driver's timeout, unless the DSN sets it):
// an unreachable host fails a new connection after it rather than after the operating
// system's minutes.
const DialTimeout = 5 * time.Second

// IOTimeout is how long one read or write on a connection of a pool with the statement
// timeout st may block: the server ends any statement after st, so a connection that stays
// silent for twice as long, and 5 s more, has a dead server behind it.
func IOTimeout(st time.Duration) time.Duration { return 2*st + 5*time.Second }

// sqlMode is set on every connection: strict, so an out-of-range or truncated value is an
// error instead of a silent change; it is valid on MySQL 8.0+ and MariaDB 10.11+.
const sqlMode = "'TRADITIONAL,ONLY_FULL_GROUP_BY,NO_AUTO_VALUE_ON_ZERO'"

// Config parses a go-sql-driver DSN and sets what every connection of this service needs:
// utf8mb4, UTC, parsed times, a strict sql_mode and client-side parameter interpolation
// (one round trip per query instead of prepare, execute and close).
// It fails when the DSN does not parse.
func Config(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database DSN: %w", err)
	}
	cfg.Collation = "utf8mb4_unicode_520_ci"
	cfg.Loc = time.UTC
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = sqlMode
	if cfg.Timeout == 0 {
		cfg.Timeout = DialTimeout
	}
	return cfg, nil
}

// Open opens a pool on dsn (see Config) sized by pool and checks that the server answers.
func Open(ctx context.Context, dsn string, pool PoolConfig) (*sql.DB, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, err
	}
	if pool.StatementTimeout > 0 {
		probe, err := OpenConfig(ctx, cfg, PoolConfig{MaxOpen: 1})
		if err != nil {
			return nil, err
		}
		var version string
		err = probe.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version)
		_ = probe.Close()
		if err != nil {
			return nil, fmt.Errorf("read the server version: %w", err)
		}
		if strings.Contains(version, "MariaDB") {
			cfg.Params["max_statement_time"] = fmt.Sprintf("%.3f", pool.StatementTimeout.Seconds())
		} else {
			cfg.Params["max_execution_time"] = fmt.Sprint(pool.StatementTimeout.Milliseconds())
		}
		if cfg.ReadTimeout == 0 {
			cfg.ReadTimeout = IOTimeout(pool.StatementTimeout)
		}
		if cfg.WriteTimeout == 0 {
			cfg.WriteTimeout = IOTimeout(pool.StatementTimeout)
		}
	}
	return OpenConfig(ctx, cfg, pool)
}

// OpenConfig opens a pool with the driver configuration cfg (from Config, perhaps adjusted)
// sized by pool, and checks that the server answers.
func OpenConfig(ctx context.Context, cfg *mysql.Config, pool PoolConfig) (*sql.DB, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("database connector: %w", err)
	}
	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(pool.MaxOpen)
	sqlDB.SetMaxIdleConns(pool.MaxIdle)
	sqlDB.SetConnMaxLifetime(pool.MaxLifetime)
	sqlDB.SetConnMaxIdleTime(pool.MaxIdleTime)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to database %s at %s: %w", cfg.DBName, cfg.Addr, err)
	}
	return sqlDB, nil
}

// Redact returns dsn with its password replaced, for logs and error messages.
func Redact(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "(unparseable DSN)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "xxxxx"
	}
	return cfg.FormatDSN()
}

// TxOption changes how Transact runs a transaction.
type TxOption func(*txOptions)

type txOptions struct{ attempts int }

// deadlockRetries is how many times in all a transaction that lost a deadlock is run with
// RetryDeadlocks.
const deadlockRetries = 3

// RetryDeadlocks makes Transact run fn again, from the start, when the database chose the
// transaction as a deadlock's victim (and rolled it back): up to deadlockRetries times in
// all, after a short random pause. A deadlock is no fault of the client, so it should not see
// one while a retry would succeed. fn must be safe to run again.
func RetryDeadlocks() TxOption { return func(o *txOptions) { o.attempts = deadlockRetries } }

// Transact runs fn in a transaction and commits when fn returns nil. It rolls back and returns
// fn's error otherwise, and returns the error of begin or commit when those fail; an error
// that means the database could not do the work right now is a derrors.Unavailable (Classify). sqlc's
// queries run in it through db.New(tx); statements sqlc cannot write (InsertRows) through tx.
func Transact(ctx context.Context, sqlDB *sql.DB, fn func(tx *sql.Tx) error, opts ...TxOption) error {
	o := txOptions{attempts: 1}
	for _, opt := range opts {
		opt(&o)
	}
	for attempt := 1; ; attempt++ {
		err := transactOnce(ctx, sqlDB, fn)
		if attempt >= o.attempts || !Deadlock(err) {
			return Classify(err)
		}
		pause := time.Duration(attempt) * (5*time.Millisecond + rand.N(20*time.Millisecond)) //nolint:gosec // jitter, not a secret
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return Classify(err)
		}
	}
}

func transactOnce(ctx context.Context, sqlDB *sql.DB, fn func(tx *sql.Tx) error) (err error) {
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CreateDatabase creates the database named in dsn if it does not exist, with the character
// set and collation the schema expects.
func CreateDatabase(dsn string) error {
	cfg, err := Config(dsn)
	if err != nil {
		return err
	}
	name := cfg.DBName
	if name == "" || strings.ContainsAny(name, "`\x00") {
		return fmt.Errorf("the DSN names no usable database")
	}
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	sqlDB := sql.OpenDB(connector)
	defer sqlDB.Close()
	_, err = sqlDB.ExecContext(context.Background(), "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
