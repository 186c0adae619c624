package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/alumnid/alumnid/internal/backup"
	"github.com/alumnid/alumnid/internal/database"
)

type backupCmd struct {
	Out   string `name:"out" required:"" type:"path" help:"File to write (it must not exist); gzip-compressed."`
	Level int    `name:"level" default:"1" help:"gzip level: 1 (fastest) to 9 (smallest)."`
}

// Run writes a consistent snapshot of every table to --out.
func (c backupCmd) Run(e *env) error {
	if c.Level < 1 || c.Level > 9 {
		return errors.New("--level must be 1 to 9")
	}
	sqlDB, err := backup.Open(e.ctx, e.cli.DBDSN)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	res, err := backup.ToFile(e.ctx, sqlDB, c.Out, backup.Options{Level: c.Level})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "backed up %d rows of %d tables (schema version %d) to %s: %d bytes in %s\n",
		res.Rows, res.Tables, res.Manifest.SchemaVersion, res.File, res.Bytes, res.Duration.Round(time.Millisecond))
	return err
}

type restoreCmd struct {
	In    string `name:"in" required:"" type:"existingfile" help:"Backup file to restore."`
	Check bool   `name:"check" help:"Only verify the file and print its manifest; write nothing."`
}

// Run checks the backup, then loads it into the (empty) database of --db-dsn.
func (c restoreCmd) Run(e *env) error {
	open := func() (io.ReadCloser, error) {
		f, err := os.Open(c.In)
		if err != nil {
			return nil, fmt.Errorf("open backup: %w", err)
		}
		return f, nil
	}
	start := time.Now()
	if c.Check {
		f, err := open()
		if err != nil {
			return err
		}
		defer f.Close()
		m, err := backup.Check(f)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(e.stdout, "%s is a complete backup: format %d, schema version %d, made %s on %s\n",
			c.In, m.Version, m.SchemaVersion, m.CreatedAt.Format(time.RFC3339), m.Server); err != nil {
			return err
		}
		for _, t := range m.Tables {
			if _, err := fmt.Fprintf(e.stdout, "  %-22s %10d rows  sha256 %s\n", t.Name, t.Rows, t.SHA256); err != nil {
				return err
			}
		}
		return nil
	}
	e.log.Info("restoring", slog.String("file", c.In), slog.String("db", database.Redact(e.cli.DBDSN)))
	m, err := backup.Restore(e.ctx, e.cli.DBDSN, open, backup.RestoreOptions{Log: e.log})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "restored %d rows of %d tables at schema version %d (backup of %s) in %s; every table matches the manifest\n",
		m.Rows(), len(m.Tables), m.SchemaVersion, m.CreatedAt.Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
	if err == nil && int(m.SchemaVersion) < int(database.ExpectedVersion) {
		_, err = fmt.Fprintf(e.stdout, "the schema stays at version %d: run `alumnid migrate up` (or serve --migrate) to bring it to %d\n",
			m.SchemaVersion, database.ExpectedVersion)
	}
	return err
}
