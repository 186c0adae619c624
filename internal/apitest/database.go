// Package apitest gives tests what they need to run against the real stack: a fresh, migrated
// MariaDB/MySQL database per test, and an HTTP client that validates every response against
// openapi.yaml.
package apitest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/alumnid/alumnid/internal/database"
)

// ServerDSN is the DSN (without a database) of the server tests create their databases on:
// $ALUMNI_TEST_DSN, or root on 127.0.0.1:3306.
func ServerDSN() string {
	if dsn := os.Getenv("ALUMNI_TEST_DSN"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// NewEmptyDatabase creates a uniquely named, empty database for t, drops it when t ends, and
// returns its DSN.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(ServerDSN())
	if err != nil {
		t.Fatalf("ALUMNI_TEST_DSN: %v", err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	base := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	name := "test_" + base + "_" + hex.EncodeToString(suffix[:])
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"); err != nil {
		_ = admin.Close()
		t.Fatalf("create test database (is MariaDB running? set ALUMNI_TEST_DSN): %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// NewDatabase creates a fresh database for t with every migration applied, drops it when t
// ends, and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	dsn := NewEmptyDatabase(t)
	m, err := database.NewMigrator(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// OpenDatabase returns a pool on a fresh, migrated database for t, closed when t ends.
func OpenDatabase(t testing.TB) (*sql.DB, string) {
	t.Helper()
	return openDatabase(t, "")
}

// openDatabase opens a pool on the database dsn, or on a fresh one when dsn is empty.
func openDatabase(t testing.TB, dsn string) (*sql.DB, string) {
	t.Helper()
	if dsn == "" {
		dsn = NewDatabase(t)
	}
	return openPool(t, dsn, database.PoolConfig{}), dsn
}

// openPool opens the pool tests run with on dsn — 8 connections, each kept a minute, and
// pool's StatementTimeout — closed when t ends.
func openPool(t testing.TB, dsn string, pool database.PoolConfig) *sql.DB {
	t.Helper()
	pool.MaxOpen, pool.MaxIdle, pool.MaxLifetime = 8, 8, time.Minute
	sqlDB, err := database.Open(context.Background(), dsn, pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	return sqlDB
}
