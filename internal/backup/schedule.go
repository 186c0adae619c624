package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// lockExpr is the name of the lock (GET_LOCK) a scheduled backup holds. Named locks are the
// server's, not a database's: the name ends in the MD5 of the database's name so that
// installations sharing a server do not wait for one another (and stays under 64 characters).
const lockExpr = "CONCAT('alumnid_backup_', MD5(DATABASE()))"

// file names of scheduled backups: FilePrefix + UTC time + FileSuffix, so that names sort by
// time.
const (
	FilePrefix = "alumnid-"
	FileSuffix = ".backup.gz"
	timeLayout = "20060102T150405.000Z"
)

// ScheduleConfig configures scheduled backups.
type ScheduleConfig struct {
	Dir      string        // where backup files go
	Interval time.Duration // time between backups, across all replicas
	Keep     int           // how many scheduled backup files to keep in Dir (at least 1)
	Level    int           // gzip level (see Options)
}

// Scheduler takes a backup every Interval. Any number of replicas may run one on the same
// database. Each ticks at start and then every minute (or every Interval when shorter): a tick
// takes the named lock alumnid_backup_<md5 of the database name> with GET_LOCK(name, 0) on its
// own connection, and a replica
// that does not get it skips the tick; the holder then backs up only when the audit trail
// shows no backup.create (of any replica, or of the command line) within the interval, less
// half a tick. So one backup is taken per interval however many replicas run, and restarting
// replicas neither skips nor repeats one. The lock is the server's, held by a connection: if
// the replica dies, the server frees it.
type Scheduler struct {
	cfg   ScheduleConfig
	db    *sql.DB
	log   *slog.Logger
	hooks []func(Result)
}

// NewScheduler returns a scheduler backing up the database of sqlDB (a pool from Open, which
// the caller closes after Run returns). It fails on a configuration that cannot work.
func NewScheduler(sqlDB *sql.DB, cfg ScheduleConfig, log *slog.Logger) (*Scheduler, error) {
	if cfg.Interval <= 0 {
		return nil, errors.New("backup interval must be positive")
	}
	if cfg.Dir == "" {
		return nil, errors.New("scheduled backups need a directory (--backup-dir)")
	}
	if cfg.Keep < 1 {
		return nil, errors.New("backup retention (--backup-keep) must be at least 1")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	return &Scheduler{cfg: cfg, db: sqlDB, log: log}, nil
}

// OnResult adds a function called after every tick with its result (metrics hook it here).
// Call it before Run.
func (s *Scheduler) OnResult(fn func(Result)) { s.hooks = append(s.hooks, fn) }

// Run ticks at once and then every minute (every Interval when shorter) until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.poll())
	defer t.Stop()
	for {
		s.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Scheduler) poll() time.Duration { return min(s.cfg.Interval, time.Minute) }

// RunOnce is one tick: take the lock, back up if due, prune old files. It logs the outcome
// and returns it.
func (s *Scheduler) RunOnce(ctx context.Context) Result {
	res := s.tick(ctx)
	switch {
	case res.Err != nil:
		s.log.Error("scheduled backup failed", slog.Any("err", res.Err), slog.Duration("took", res.Duration))
	case res.Skipped != "":
		s.log.Debug("scheduled backup skipped", slog.String("reason", res.Skipped))
	default:
		s.log.Info("scheduled backup", slog.String("file", res.File), slog.Int64("bytes", res.Bytes),
			slog.Int64("rows", res.Rows), slog.Duration("took", res.Duration))
	}
	for _, fn := range s.hooks {
		fn(res)
	}
	return res
}

func (s *Scheduler) tick(ctx context.Context) Result {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return Result{Start: time.Now(), Err: fmt.Errorf("backup lock: %w", err)}
	}
	defer func() { _ = conn.Close() }()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+lockExpr+", 0)").Scan(&got); err != nil {
		return Result{Start: time.Now(), Err: fmt.Errorf("backup lock: %w", err)}
	}
	if got.Int64 != 1 {
		return Result{Start: time.Now(), Skipped: "locked"}
	}
	defer func() {
		relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(relCtx, "DO RELEASE_LOCK("+lockExpr+")")
	}()
	due, err := s.due(ctx, conn)
	if err != nil {
		return Result{Start: time.Now(), Err: err}
	}
	if !due {
		return Result{Start: time.Now(), Skipped: "not due"}
	}
	now := time.Now().UTC()
	path := filepath.Join(s.cfg.Dir, FilePrefix+now.Format(timeLayout)+FileSuffix)
	res, err := ToFile(ctx, s.db, path, Options{Level: s.cfg.Level})
	if err != nil {
		return res
	}
	if err := s.prune(); err != nil {
		res.Err = err
	}
	return res
}

// due reports whether no backup was recorded within the interval less half a tick (which
// absorbs the time a backup takes and ticks that drift).
func (s *Scheduler) due(ctx context.Context, conn *sql.Conn) (bool, error) {
	var last sql.NullString
	err := conn.QueryRowContext(ctx, `SELECT MAX(occurred_at) FROM audit_events WHERE action = 'backup.create'`).Scan(&last)
	if err != nil {
		return false, fmt.Errorf("find the last backup: %w", err)
	}
	if !last.Valid {
		return true, nil
	}
	at, err := time.Parse("2006-01-02 15:04:05.999999", last.String)
	if err != nil {
		return false, fmt.Errorf("find the last backup: %w", err)
	}
	return time.Since(at)+s.poll()/2 >= s.cfg.Interval, nil
}

// prune deletes the scheduled backup files of Dir beyond the newest Keep, and the partial
// files of scheduled backups that a killed process left (it runs under the backup lock, so no
// other replica is writing one). Other files are left alone.
func (s *Scheduler) prune() error {
	files, err := ScheduledFiles(s.cfg.Dir)
	if err != nil {
		return err
	}
	var errs []error
	leftovers, err := filepath.Glob(filepath.Join(s.cfg.Dir, FilePrefix+"*"+FileSuffix+".*"+partialSuffix))
	if err != nil {
		return err
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil {
			errs = append(errs, fmt.Errorf("delete a partial backup: %w", err))
			continue
		}
		s.log.Info("deleted a partial backup left by a stopped process", slog.String("file", f))
	}
	for _, f := range files[:max(len(files)-s.cfg.Keep, 0)] {
		if err := os.Remove(f); err != nil {
			errs = append(errs, fmt.Errorf("delete old backup: %w", err))
			continue
		}
		s.log.Info("deleted old backup", slog.String("file", f))
	}
	return errors.Join(errs...)
}

// ScheduledFiles returns the complete scheduled backup files of dir, oldest first.
func ScheduledFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, FilePrefix) && strings.HasSuffix(n, FileSuffix) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}
