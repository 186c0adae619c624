package main

import (
	"fmt"

	"github.com/alumnid/alumnid/internal/database"
)

type migrateCmd struct {
	Up      migrateUpCmd      `cmd:"" help:"Apply every pending migration."`
	Down    migrateDownCmd    `cmd:"" help:"Roll back the N most recent migrations."`
	Version migrateVersionCmd `cmd:"" help:"Print the schema version."`
}

type migrateUpCmd struct {
	CreateDatabase bool `name:"create-database" help:"Create the DSN's database first if it does not exist."`
}

func (c migrateUpCmd) Run(e *env) error {
	if err := migrateUp(e.cli.DBDSN, c.CreateDatabase); err != nil {
		return err
	}
	return printVersion(e)
}

func migrateUp(dsn string, create bool) error {
	if create {
		if err := database.CreateDatabase(dsn); err != nil {
			return err
		}
	}
	m, err := database.NewMigrator(dsn)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}

type migrateDownCmd struct {
	N int `arg:"" help:"How many migrations to roll back."`
}

func (c migrateDownCmd) Run(e *env) error {
	m, err := database.NewMigrator(e.cli.DBDSN)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Down(c.N); err != nil {
		return err
	}
	return printVersion(e)
}

type migrateVersionCmd struct{}

func (migrateVersionCmd) Run(e *env) error { return printVersion(e) }

func printVersion(e *env) error {
	m, err := database.NewMigrator(e.cli.DBDSN)
	if err != nil {
		return err
	}
	defer m.Close()
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	state := "clean"
	if dirty {
		state = "dirty"
	}
	_, err = fmt.Fprintf(e.stdout, "schema version %d (%s); this binary needs %d\n", v, state, database.ExpectedVersion)
	return err
}
