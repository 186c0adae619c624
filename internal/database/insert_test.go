package database_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/database"
)

// countingDB counts the statements sent through it.
type countingDB struct {
	*sql.DB
	statements int
}

func (c *countingDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.statements++
	return c.DB.ExecContext(ctx, query, args...)
}

// An Inserter sends a statement when it holds its row limit or about 4 MiB of values, so
// large values never make one statement larger than the server takes.
func TestInserterBounds(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	if _, err := sqlDB.ExecContext(ctx, "CREATE TABLE insert_t (id INT PRIMARY KEY, body MEDIUMTEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		rows, maxRows  int
		size           int
		wantStatements int
	}{
		{"small rows, one statement", 10, 0, 10, 1},
		{"row limit", 10, 3, 10, 4},
		{"byte budget", 10, 0, 1 << 20, 3}, // 4 + 4 + 2 rows of 1 MiB
	}
	id := 0
	for _, tt := range tests {
		c := &countingDB{DB: sqlDB}
		in := database.NewInserter(c, "insert_t", []string{"id", "body"})
		if tt.maxRows > 0 {
			in.MaxRows(tt.maxRows)
		}
		for range tt.rows {
			id++
			if err := in.Add(ctx, id, strings.Repeat("x", tt.size)); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		}
		if err := in.Flush(ctx); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if c.statements != tt.wantStatements {
			t.Errorf("%s: %d statements, want %d", tt.name, c.statements, tt.wantStatements)
		}
	}
	var n int
	if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM insert_t").Scan(&n); err != nil || n != id {
		t.Errorf("%d rows written (%v), want %d", n, err, id)
	}
	if err := database.NewInserter(sqlDB, "insert_t", []string{"id", "body"}).Add(ctx, 1); err == nil {
		t.Error("a row with too few values was accepted")
	}
}

// UpsertAdd adds to the counters of existing keys.
func TestUpsertAdd(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	if _, err := sqlDB.ExecContext(ctx, "CREATE TABLE counts_t (k VARCHAR(10) PRIMARY KEY, n INT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := database.UpsertAdd(ctx, sqlDB, "counts_t", []string{"k", "n"}, "n", [][]any{{"a", 1}, {"b", 2}}); err != nil {
			t.Fatal(err)
		}
	}
	var a, b int
	if err := sqlDB.QueryRowContext(ctx, "SELECT (SELECT n FROM counts_t WHERE k = 'a'), (SELECT n FROM counts_t WHERE k = 'b')").Scan(&a, &b); err != nil || a != 2 || b != 4 {
		t.Errorf("counts a=%d b=%d (%v), want 2 and 4", a, b, err)
	}
}
