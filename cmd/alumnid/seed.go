package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"time"

	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/seed"
)

type seedCmd struct {
	Alumni   int    `name:"alumni" default:"5000" help:"How many alumni to create."`
	RandSeed uint64 `name:"rand-seed" default:"1" help:"Seed of the generator: the same seed gives the same people."`
	Batch    int    `name:"batch" default:"1000" help:"Rows per INSERT."`
	IfEmpty  bool   `name:"if-empty" help:"Do nothing when the database already holds alumni."`

	Duplicates float64 `name:"duplicates" default:"0" help:"Share of the records (0 to 0.5) that are a person of the run entered again with realistic differences: a duplicate finder's test data."`
	Truth      string  `name:"duplicates-truth" type:"path" help:"Write the planted pairs to this CSV file (original,duplicate,variation: public ids and how they differ)."`
}

func (c seedCmd) Run(e *env) (err error) {
	if c.Alumni < 0 || c.Batch < 1 {
		return fmt.Errorf("--alumni must be 0 or more and --batch 1 or more")
	}
	if c.Duplicates < 0 || c.Duplicates > 0.5 {
		return fmt.Errorf("--duplicates must be between 0 and 0.5")
	}
	if c.Truth != "" && c.Duplicates == 0 {
		return fmt.Errorf("--duplicates-truth needs --duplicates")
	}
	sqlDB, err := database.Open(e.ctx, e.cli.DBDSN, database.PoolConfig{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Hour})
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if c.IfEmpty {
		var n int
		if err := sqlDB.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM alumni LIMIT 1) x").Scan(&n); err != nil {
			return fmt.Errorf("check for alumni: %w", err)
		}
		if n > 0 {
			_, err := fmt.Fprintln(e.stdout, "the database already holds alumni; nothing seeded")
			return err
		}
	}
	opts := seed.Options{Count: c.Alumni, RandSeed: c.RandSeed, BatchSize: c.Batch, Duplicates: c.Duplicates}
	planted := 0
	var truth *csv.Writer
	if c.Truth != "" {
		f, err := os.Create(c.Truth)
		if err != nil {
			return fmt.Errorf("duplicates truth: %w", err)
		}
		defer f.Close() //nolint:errcheck // closed below; this one is for the error paths
		truth = csv.NewWriter(f)
		if err := truth.Write([]string{"original", "duplicate", "variation"}); err != nil {
			return fmt.Errorf("duplicates truth: %w", err)
		}
		defer func() {
			truth.Flush()
			if err == nil {
				err = truth.Error()
			}
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("duplicates truth: %w", cerr)
			}
		}()
	}
	opts.Planted = func(p seed.Pair) error {
		planted++
		if truth == nil {
			return nil
		}
		return truth.Write([]string{p.Original, p.Duplicate, p.Variation})
	}
	start := time.Now()
	n, err := seed.Run(e.ctx, sqlDB, opts)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if _, err = fmt.Fprintf(e.stdout, "seeded %d alumni in %s (%.0f rows/s)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds()); err != nil {
		return err
	}
	if c.Duplicates > 0 {
		_, err = fmt.Fprintf(e.stdout, "of them %d planted duplicates\n", planted)
	}
	return err
}
