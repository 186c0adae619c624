package main

import (
	"fmt"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/database"
)

type reindexCmd struct {
	Search bool `name:"search" default:"true" negatable:"" help:"Rebuild the search index (safe while the service runs)."`
	Stats  bool `name:"stats" default:"true" negatable:"" help:"Recount the analytics summary (changes to records wait until it is done)."`
	Batch  int  `name:"batch" default:"1000" help:"Records per transaction."`
}

func (c reindexCmd) Run(e *env) error {
	sqlDB, err := database.Open(e.ctx, e.cli.DBDSN, database.PoolConfig{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Hour})
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	store := alumni.NewStore(sqlDB)
	if c.Search {
		start := time.Now()
		n, err := store.Reindex(e.ctx, c.Batch, nil)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(e.stdout, "search index: %d records in %s\n", n, time.Since(start).Round(time.Millisecond)); err != nil {
			return err
		}
	}
	if c.Stats {
		start := time.Now()
		if err := store.RebuildStats(e.ctx, c.Batch); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(e.stdout, "analytics summary recounted in %s\n", time.Since(start).Round(time.Millisecond)); err != nil {
			return err
		}
	}
	return nil
}
