package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"

	"github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4"
	migratemysql "github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/alumnid/alumnid/schema"
)

// Migrator applies the migrations embedded from schema/. golang-migrate holds a database lock
// (GET_LOCK) while it works, so several replicas starting at once migrate only once.
type Migrator struct {
	m  *migrate.Migrate
	db *sql.DB
}

// NewMigrator connects to dsn with its own single connection (migration files hold several
// statements, which needs multiStatements) and prepares the embedded migrations.
func NewMigrator(dsn string) (*Migrator, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MultiStatements = true
	cfg.InterpolateParams = false // the driver refuses interpolation together with multiStatements
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("database connector: %w", err)
	}
	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(2)
	driver, err := migratemysql.WithInstance(sqlDB, &migratemysql.Config{})
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to database %s at %s for migrations: %w", cfg.DBName, cfg.Addr, err)
	}
	source, err := iofs.New(schema.Migrations, ".")
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", source, "mysql", driver)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return &Migrator{m: m, db: sqlDB}, nil
}

// Close releases the migrator's connection.
func (mg *Migrator) Close() error {
	srcErr, dbErr := mg.m.Close()
	return errors.Join(srcErr, dbErr)
}

// Up applies every pending migration; having none to apply is not an error.
func (mg *Migrator) Up() error {
	if err := mg.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// To migrates up or down to version; being there already is not an error.
func (mg *Migrator) To(version uint) error {
	if err := mg.m.Migrate(version); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate to version %d: %w", version, err)
	}
	return nil
}

// Down rolls back the n most recent migrations.
func (mg *Migrator) Down(n int) error {
	if n <= 0 {
		return fmt.Errorf("migrate down: the number of migrations must be positive, not %d", n)
	}
	if err := mg.m.Steps(-n); err != nil {
		return fmt.Errorf("migrate down %d: %w", n, err)
	}
	return nil
}

// Version returns the applied version (0 when none is) and whether a migration failed half-way.
func (mg *Migrator) Version() (version uint, dirty bool, err error) {
	version, dirty, err = mg.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	return version, dirty, nil
}

var migrationName = regexp.MustCompile(`^(\d+)_.*\.up\.sql$`)

// ExpectedVersion is the newest migration embedded in this binary: the schema version it needs.
var ExpectedVersion = func() uint {
	entries, err := fs.ReadDir(schema.Migrations, ".")
	if err != nil {
		panic(err)
	}
	var newest uint
	for _, e := range entries {
		if m := migrationName.FindStringSubmatch(e.Name()); m != nil {
			v, err := strconv.ParseUint(m[1], 10, 64)
			if err != nil {
				panic(err)
			}
			newest = max(newest, uint(v))
		}
	}
	return newest
}()

// SchemaVersion reads the version golang-migrate recorded, through the service's own pool; it
// returns 0 when no migration has run.
func SchemaVersion(ctx context.Context, sqlDB *sql.DB) (version uint, dirty bool, err error) {
	err = sqlDB.QueryRowContext(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&version, &dirty)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) && myErr.Number == 1146 { // table does not exist yet
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	return version, dirty, nil
}
