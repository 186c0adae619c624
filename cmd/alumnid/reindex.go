package main

import (
	"fmt"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/duplicates"
)

// reindexCmd recounts the analytics summary, writes the records' duplicate keys again and
// scores the likely duplicate pairs again (the queue's dismissals stay).
// (The search index lives in each replica's memory: a replica builds it from the records when
// it starts.)
type reindexCmd struct {
	Batch int `name:"batch" default:"1000" help:"Records per transaction."`
}

func (c reindexCmd) Run(e *env) error {
	sqlDB, err := database.Open(e.ctx, e.cli.DBDSN, database.PoolConfig{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Hour})
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	store := alumni.NewStore(sqlDB)
	start := time.Now()
	if err := store.RebuildStats(e.ctx, c.Batch); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.stdout, "analytics summary recounted in %s\n", time.Since(start).Round(time.Millisecond)); err != nil {
		return err
	}
	start = time.Now()
	if err := store.RebuildDuplicateKeys(e.ctx, c.Batch); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.stdout, "duplicate keys written again in %s\n", time.Since(start).Round(time.Millisecond)); err != nil {
		return err
	}
	start = time.Now()
	if err := duplicates.NewStore(sqlDB).Rebuild(e.ctx, nil); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "likely duplicate pairs scored again in %s\n", time.Since(start).Round(time.Millisecond))
	return err
}
