package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
)

// TestBackupAndRestoreCommands runs the commands as an operator would: seed, back up, check
// the file, restore into an empty database, and be refused where it would do harm.
func TestBackupAndRestoreCommands(t *testing.T) {
	src := apitest.NewDatabase(t)
	if out, err := runCmd(t, "--db-dsn", src, "seed", "--alumni", "50"); err != nil {
		t.Fatalf("seed: %v %s", err, out)
	}
	file := filepath.Join(t.TempDir(), "alumni.backup.gz")
	out, err := runCmd(t, "--db-dsn", src, "backup", "--out", file)
	if err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %v %s", err, out)
	}
	if out, err := runCmd(t, "--db-dsn", src, "backup", "--out", file); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v %s", err, out)
	}
	if out, err := runCmd(t, "--db-dsn", src, "backup", "--out", file+"2", "--level", "10"); err == nil {
		t.Errorf("--level 10 accepted: %s", out)
	}
	out, err = runCmd(t, "restore", "--in", file, "--check")
	if err != nil || !strings.Contains(out, "is a complete backup") || !strings.Contains(out, "alumni ") {
		t.Fatalf("restore --check: %v %s", err, out)
	}
	dst := apitest.NewEmptyDatabase(t)
	out, err = runCmd(t, "--db-dsn", dst, "--log-level", "warn", "restore", "--in", file)
	if err != nil || !strings.Contains(out, "every table matches the manifest") {
		t.Fatalf("restore: %v %s", err, out)
	}
	if out, err := runCmd(t, "--db-dsn", dst, "restore", "--in", file); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a database with rows: %v %s", err, out)
	}
	// A truncated file is refused before anything is written.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.backup.gz")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "restore", "--in", cut, "--check"); err == nil || !strings.Contains(err.Error(), "damaged or truncated") {
		t.Errorf("restore --check of a truncated file: %v %s", err, out)
	}
	empty := apitest.NewEmptyDatabase(t)
	if out, err := runCmd(t, "--db-dsn", empty, "restore", "--in", cut); err == nil || !strings.Contains(err.Error(), "damaged or truncated") {
		t.Errorf("restore of a truncated file: %v %s", err, out)
	}
	if out, err := runCmd(t, "--db-dsn", empty, "migrate", "version"); err != nil || !strings.Contains(out, "schema version 0") {
		t.Errorf("the refused restore wrote a schema: %v %s", err, out)
	}
}
