package main

import (
	"fmt"
	"time"

	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/seed"
)

type seedCmd struct {
	Alumni   int    `name:"alumni" default:"5000" help:"How many alumni to create."`
	RandSeed uint64 `name:"rand-seed" default:"1" help:"Seed of the generator: the same seed gives the same people."`
	Batch    int    `name:"batch" default:"1000" help:"Rows per INSERT."`
	IfEmpty  bool   `name:"if-empty" help:"Do nothing when the database already holds alumni."`
}

func (c seedCmd) Run(e *env) error {
	if c.Alumni < 0 || c.Batch < 1 {
		return fmt.Errorf("--alumni must be 0 or more and --batch 1 or more")
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
	start := time.Now()
	n, err := seed.Run(e.ctx, sqlDB, seed.Options{Count: c.Alumni, RandSeed: c.RandSeed, BatchSize: c.Batch})
	if err != nil {
		return err
	}
	took := time.Since(start)
	_, err = fmt.Fprintf(e.stdout, "seeded %d alumni in %s (%.0f rows/s)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return err
}
