package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/backup"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/domain"
	"github.com/alumnid/alumnid/internal/events"
	"github.com/alumnid/alumnid/internal/httpapi"
	"github.com/alumnid/alumnid/internal/idempotency"
	"github.com/alumnid/alumnid/internal/importer"
	"github.com/alumnid/alumnid/internal/metrics"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/sso"
	"github.com/alumnid/alumnid/internal/token"
)

type serveCmd struct {
	HTTPAddr          string         `name:"http-addr" env:"ALUMNI_HTTP_ADDR" default:"127.0.0.1:8080" help:"Listen address."`
	Migrate           bool           `name:"migrate" env:"ALUMNI_MIGRATE" help:"Apply pending migrations before serving."`
	AllowedOrigins    []string       `name:"allowed-origins" env:"ALUMNI_ALLOWED_ORIGINS" help:"Browser origins allowed to call the API (CORS), comma-separated."`
	TrustedProxies    string         `name:"trusted-proxies" env:"ALUMNI_TRUSTED_PROXIES" help:"Proxies whose X-Forwarded-For is believed: addresses or CIDR networks, comma-separated."`
	BodyLimit         int64          `name:"body-limit" env:"ALUMNI_BODY_LIMIT" default:"1048576" help:"Largest request body in bytes."`
	RequestTimeout    time.Duration  `name:"request-timeout" env:"ALUMNI_REQUEST_TIMEOUT" default:"15s" help:"Longest a request may work, database included."`
	ReadHeaderTimeout time.Duration  `name:"read-header-timeout" env:"ALUMNI_READ_HEADER_TIMEOUT" default:"5s" help:"Time to read request headers."`
	ReadTimeout       time.Duration  `name:"read-timeout" env:"ALUMNI_READ_TIMEOUT" default:"30s" help:"Time to read a whole request."`
	WriteTimeout      time.Duration  `name:"write-timeout" env:"ALUMNI_WRITE_TIMEOUT" default:"60s" help:"Time to write a response."`
	IdleTimeout       time.Duration  `name:"idle-timeout" env:"ALUMNI_IDLE_TIMEOUT" default:"120s" help:"How long an idle keep-alive connection stays open."`
	ShutdownTimeout   time.Duration  `name:"shutdown-timeout" env:"ALUMNI_SHUTDOWN_TIMEOUT" default:"20s" help:"How long shutdown waits for requests in flight."`
	Pool              poolFlags      `embed:"" prefix:"db-"`
	Admission         admissionFlags `embed:""`
	Tokens            tokenFlags     `embed:""`
	TOTP              totpFlags      `embed:""`
	PublicURL         string         `name:"public-url" env:"ALUMNI_PUBLIC_URL" help:"Where browsers reach this service (https://alumni.example.edu): the identity providers' redirect URIs hang under it. Needed with --oidc-providers-file."`
	OIDCProvidersFile string         `name:"oidc-providers-file" env:"ALUMNI_OIDC_PROVIDERS_FILE" type:"path" help:"JSON file listing the OpenID Connect providers people may sign in with (README); none: passwords only."`
	PasswordHashes    int            `name:"password-hashes" env:"ALUMNI_PASSWORD_HASHES" default:"0" help:"Most password hashes computed at once (19 MiB each), and sign-ins worked on at once; 0 means one per CPU."`
	ExportChunk       int            `name:"export-chunk" env:"ALUMNI_EXPORT_CHUNK" default:"2000" help:"Records an export reads per query."`
	Import            importFlags    `embed:"" prefix:"import-"`
	MetricsAddr       string         `name:"metrics-addr" env:"ALUMNI_METRICS_ADDR" help:"Serve Prometheus metrics at /metrics on this address only (e.g. 127.0.0.1:9090); off when empty."`
	Profiling         bool           `name:"profiling" env:"ALUMNI_PROFILING" help:"Also serve Go's profiles (net/http/pprof) at /debug/pprof/ on the metrics address."`
	MetricsToken      string         `name:"metrics-token" env:"ALUMNI_METRICS_TOKEN" help:"Also serve /metrics on the API's address, to requests bearing this token (Authorization: Bearer); off when empty. Prefer the environment variable: flags show in process lists."`
	Backup            backupFlags    `embed:"" prefix:"backup-"`
}

// admissionFlags bound the work one replica takes on (httpapi.Admission).
type admissionFlags struct {
	MaxInFlight  int           `name:"max-in-flight" env:"ALUMNI_MAX_IN_FLIGHT" default:"64" help:"API requests worked on at once."`
	MaxQueue     int           `name:"max-queue" env:"ALUMNI_MAX_QUEUE" default:"1024" help:"API requests that may wait for a turn; more are refused with 503 at once."`
	QueueTimeout time.Duration `name:"queue-timeout" env:"ALUMNI_QUEUE_TIMEOUT" default:"5s" help:"Longest an API request waits for a turn before a 503."`
	MaxHeavy     int           `name:"max-heavy" env:"ALUMNI_MAX_HEAVY" default:"4" help:"Searches, facets and filtered analytics worked on at once (they wait like other requests)."`
	MaxStreams   int           `name:"max-streams" env:"ALUMNI_MAX_STREAMS" default:"4" help:"Exports, and uploads, running at once (each); one more gets a 503."`
}

func (a admissionFlags) config() (httpapi.Admission, error) {
	if a.MaxInFlight < 1 || a.MaxQueue < 1 || a.QueueTimeout <= 0 || a.MaxHeavy < 1 || a.MaxStreams < 1 {
		return httpapi.Admission{}, errors.New("max-in-flight, max-queue, queue-timeout, max-heavy and max-streams must be positive")
	}
	return httpapi.Admission{MaxInFlight: a.MaxInFlight, MaxQueue: a.MaxQueue, QueueTimeout: a.QueueTimeout,
		MaxHeavy: a.MaxHeavy, MaxStreams: a.MaxStreams}, nil
}

// backupFlags configure scheduled backups (internal/backup.Scheduler).
type backupFlags struct {
	Dir      string        `name:"dir" env:"ALUMNI_BACKUP_DIR" type:"path" help:"Directory of scheduled backups."`
	Interval time.Duration `name:"interval" env:"ALUMNI_BACKUP_INTERVAL" default:"0s" help:"Time between scheduled backups across all replicas; 0 turns them off."`
	Keep     int           `name:"keep" env:"ALUMNI_BACKUP_KEEP" default:"7" help:"Scheduled backup files kept in --backup-dir; older ones are deleted."`
	Level    int           `name:"level" env:"ALUMNI_BACKUP_LEVEL" default:"1" help:"gzip level of scheduled backups, 1 (fastest) to 9 (smallest)."`
}

// importFlags configure CSV imports: the uploads this replica accepts and its worker.
type importFlags struct {
	MaxBytes     int64         `name:"max-bytes" env:"ALUMNI_IMPORT_MAX_BYTES" default:"104857600" help:"Largest CSV upload in bytes (413 above)."`
	MaxRows      int           `name:"max-rows" env:"ALUMNI_IMPORT_MAX_ROWS" default:"1000000" help:"Most rows of one CSV upload."`
	Timeout      time.Duration `name:"timeout" env:"ALUMNI_IMPORT_TIMEOUT" default:"10m" help:"Time to receive one upload."`
	PollInterval time.Duration `name:"poll-interval" env:"ALUMNI_IMPORT_POLL_INTERVAL" default:"2s" help:"How often an idle import worker looks for jobs."`
	BatchSize    int           `name:"batch-size" env:"ALUMNI_IMPORT_BATCH_SIZE" default:"500" help:"Rows of an import per transaction."`
	Lease        time.Duration `name:"lease" env:"ALUMNI_IMPORT_LEASE" default:"2m" help:"How long an import stays with a worker that gives no news (renewed with every batch); after it, a worker that died loses the job to another."`
}

// tokenFlags configure access tokens. Keys are PEM (PKCS#8) or JWK / JWK Set, Ed25519 or
// P-256, listed oldest first: the last private key signs, all of them verify.
type tokenFlags struct {
	KeyFiles []string `name:"jwt-key-file" env:"ALUMNI_JWT_KEY_FILES" sep:"," help:"Files with the token keys, oldest first (comma-separated)."`
	Keys     string   `name:"jwt-keys" env:"ALUMNI_JWT_KEYS" help:"The token keys themselves (PEM or JWK Set), after those of --jwt-key-file."`
	Issuer   string   `name:"jwt-issuer" env:"ALUMNI_JWT_ISSUER" default:"alumnid" help:"iss of access tokens."`
	Audience string   `name:"jwt-audience" env:"ALUMNI_JWT_AUDIENCE" default:"alumnid-api" help:"aud of access tokens."`
}

// keySet loads the configured keys. It names files, never key material, in errors.
func (t tokenFlags) keySet() (*token.KeySet, error) {
	var data [][]byte
	for _, path := range t.KeyFiles {
		b, err := os.ReadFile(path) //nolint:gosec // the operator names the key file
		if err != nil {
			return nil, fmt.Errorf("read token key file: %w", err)
		}
		data = append(data, b)
	}
	if strings.TrimSpace(t.Keys) != "" {
		data = append(data, []byte(t.Keys))
	}
	if len(data) == 0 {
		return nil, errors.New("no token signing key: set --jwt-key-file (ALUMNI_JWT_KEY_FILES) or ALUMNI_JWT_KEYS; `alumnid keygen` makes one")
	}
	return token.ParseKeys(data...)
}

// totpFlags configure the keys that seal TOTP secrets at rest: base64 of 32 random bytes
// each, oldest first; the last seals, all open.
type totpFlags struct {
	KeyFile string `name:"totp-key-file" env:"ALUMNI_TOTP_KEY_FILE" type:"path" help:"File with the TOTP sealing keys (base64 of 32 bytes each, one a line, oldest first)."`
	Keys    string `name:"totp-keys" env:"ALUMNI_TOTP_KEYS" help:"The TOTP sealing keys themselves, comma-separated, after those of --totp-key-file. Prefer the environment variable."`
}

// keys loads the configured keys. It names the file, never key material, in errors.
func (t totpFlags) keys() ([][]byte, error) {
	text := t.Keys
	if t.KeyFile != "" {
		b, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read TOTP key file: %w", err)
		}
		text = string(b) + "\n" + text
	}
	return auth.ParseTOTPKeys(text)
}

type poolFlags struct {
	MaxOpen     int           `name:"max-open" env:"ALUMNI_DB_MAX_OPEN" default:"16" help:"Most open database connections."`
	MaxIdle     int           `name:"max-idle" env:"ALUMNI_DB_MAX_IDLE" default:"16" help:"Most idle database connections kept."`
	MaxLifetime time.Duration `name:"conn-max-lifetime" env:"ALUMNI_DB_CONN_MAX_LIFETIME" default:"5m" help:"Longest a database connection is reused."`
	MaxIdleTime time.Duration `name:"conn-max-idle-time" env:"ALUMNI_DB_CONN_MAX_IDLE_TIME" default:"2m" help:"Longest a database connection stays idle."`
}

func (p poolFlags) config() database.PoolConfig {
	return database.PoolConfig{MaxOpen: p.MaxOpen, MaxIdle: p.MaxIdle, MaxLifetime: p.MaxLifetime, MaxIdleTime: p.MaxIdleTime}
}

// listening and listeningMetrics, when set, receive the bound addresses (tests listen on
// port 0).
var listening, listeningMetrics func(addr string)

// Run serves until the context ends (SIGINT or SIGTERM), then drains requests in flight.
func (s serveCmd) Run(e *env) error {
	for name, d := range map[string]time.Duration{"request-timeout": s.RequestTimeout, "read-header-timeout": s.ReadHeaderTimeout, "read-timeout": s.ReadTimeout, "write-timeout": s.WriteTimeout, "shutdown-timeout": s.ShutdownTimeout, "import-timeout": s.Import.Timeout, "import-poll-interval": s.Import.PollInterval, "import-lease": s.Import.Lease} {
		if err := positive(name, d); err != nil {
			return err
		}
	}
	if s.Import.MaxBytes <= 0 || s.Import.MaxRows <= 0 || s.Import.BatchSize <= 0 {
		return errors.New("import-max-bytes, import-max-rows and import-batch-size must be positive")
	}
	if s.Backup.Interval < 0 || s.Backup.Interval > 0 && (s.Backup.Dir == "" || s.Backup.Keep < 1 || s.Backup.Level < 1 || s.Backup.Level > 9) {
		return errors.New("scheduled backups need --backup-dir, --backup-keep of 1 or more and --backup-level 1 to 9; --backup-interval 0 turns them off")
	}
	proxies, err := cidrList(s.TrustedProxies)
	if err != nil {
		return err
	}
	totpKeys, err := s.TOTP.keys()
	if err != nil {
		return err
	}
	var providers []sso.ProviderConfig
	if s.OIDCProvidersFile != "" {
		if providers, err = sso.LoadConfig(s.OIDCProvidersFile, os.Getenv); err != nil {
			return err
		}
		if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errors.New("--oidc-providers-file needs --public-url (ALUMNI_PUBLIC_URL), the service's address as browsers see it")
		}
	}
	admission, err := s.Admission.config()
	if err != nil {
		return err
	}
	admission.MaxPasswordWork = s.PasswordHashes // the password lane admits what the hasher computes at once
	e.log.Info("starting", slog.String("version", version), slog.String("db", database.Redact(e.cli.DBDSN)),
		slog.String("addr", s.HTTPAddr), slog.Bool("migrate", s.Migrate), slog.Any("allowed_origins", s.AllowedOrigins),
		slog.Int("db_max_open", s.Pool.MaxOpen))

	if s.Migrate {
		if err := migrateUp(e.cli.DBDSN, false); err != nil {
			return err
		}
	}
	pool := s.Pool.config()
	pool.StatementTimeout = s.RequestTimeout // no statement outlives the request that asked for it
	sqlDB, err := database.Open(e.ctx, e.cli.DBDSN, pool)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	current, dirty, err := database.SchemaVersion(e.ctx, sqlDB)
	if err != nil {
		return err
	}
	if dirty {
		return fmt.Errorf("database schema version %d is dirty (a migration failed half-way); repair it, then run `alumnid migrate up`", current)
	}
	if current < database.ExpectedVersion {
		return fmt.Errorf("%w: it is at version %d and this binary needs %d; run `alumnid migrate up` or start with --migrate (ALUMNI_MIGRATE=true)",
			errSchemaBehind, current, database.ExpectedVersion)
	}

	keys, err := s.Tokens.keySet()
	if err != nil {
		return err
	}
	if len(totpKeys) == 0 {
		e.log.Warn("no TOTP sealing key: second-factor secrets are stored unencrypted; set ALUMNI_TOTP_KEYS (see README)")
	}
	m := metrics.New()
	m.WatchDB(sqlDB)
	feed := events.NewFeed(sqlDB, events.Config{}, e.log, m)
	go feed.Run(e.ctx) // ends every subscription when the server stops
	services, err := domain.New(sqlDB, domain.Config{
		Keys: keys, Issuer: s.Tokens.Issuer, Audience: s.Tokens.Audience,
		PasswordHashes: s.PasswordHashes,
		ExportChunk:    s.ExportChunk,
		ImportLimits:   importer.Limits{MaxRows: s.Import.MaxRows},
		TOTPKeys:       totpKeys,
		SSOProviders:   providers, PublicURL: s.PublicURL, SSOReturnOrigins: s.AllowedOrigins,
	}, e.log)
	if err != nil {
		return err
	}
	services.Events = feed
	go followSearch(e, services.Search)
	handler, err := httpapi.New(httpapi.Config{
		AllowedOrigins: s.AllowedOrigins,
		TrustedProxies: proxies,
		BodyLimit:      s.BodyLimit,
		RequestTimeout: s.RequestTimeout,
		Admission:      admission,
		ImportMaxBytes: s.Import.MaxBytes,
		ImportTimeout:  s.Import.Timeout,
		Metrics:        m,
		MetricsToken:   s.MetricsToken,
	}, services, e.log)
	if err != nil {
		return err
	}
	go purgeEvery(e.ctx, sqlDB, 10*time.Minute, e.log, auth.Purge, idempotency.Purge)
	// Scores the pairs of changed records for the queue of likely duplicates; every replica
	// runs one, and they share the work (internal/duplicates).
	go services.Duplicates.Run(e.ctx, 2*time.Second, e.log)
	// The import worker stops with the context: it rolls back the batch in progress and
	// releases its job for another replica.
	workerCtx, stopWorker := context.WithCancel(e.ctx)
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		importer.NewRunner(sqlDB, importer.RunnerConfig{PollInterval: s.Import.PollInterval, BatchSize: s.Import.BatchSize, Lease: s.Import.Lease, Metrics: m}, e.log).Run(workerCtx)
	}()
	defer func() {
		stopWorker()
		<-workerDone
	}()
	if s.Backup.Interval > 0 {
		stopBackups, err := startBackups(e, s.Backup, m)
		if err != nil {
			return err
		}
		defer stopBackups()
	}
	srv := httpapi.NewHTTPServer(handler, httpapi.Timeouts{
		ReadHeader: s.ReadHeaderTimeout, Read: s.ReadTimeout, Write: s.WriteTimeout, Idle: s.IdleTimeout,
	}, slog.NewLogLogger(e.log.Handler(), slog.LevelWarn))
	ln, err := (&net.ListenConfig{}).Listen(e.ctx, "tcp", s.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	e.log.Info("serving", slog.String("addr", ln.Addr().String()))
	if listening != nil {
		listening(ln.Addr().String())
	}

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if s.MetricsAddr != "" {
		msrv, err := serveMetrics(e, s.MetricsAddr, m, s.Profiling, serveErr)
		if err != nil {
			return err
		}
		defer msrv.Close() //nolint:errcheck // scrapes in flight may be cut at exit
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-e.ctx.Done():
	}
	e.log.Info("shutting down: draining requests in flight", slog.Duration("timeout", s.ShutdownTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	e.log.Info("stopped")
	return nil
}

// serveMetrics serves m at /metrics on addr, a listener of its own that operators keep off
// the public network, and Go's profiles at /debug/pprof/ when profiling; a failure to serve is
// sent to errs.
func serveMetrics(e *env, addr string, m *metrics.Metrics, profiling bool, errs chan<- error) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{
		Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 90 * time.Second, // a CPU profile takes 30 s by default
		ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	ln, err := (&net.ListenConfig{}).Listen(e.ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics: %w", err)
	}
	e.log.Info("serving metrics", slog.String("addr", ln.Addr().String()))
	if listeningMetrics != nil {
		listeningMetrics(ln.Addr().String())
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("metrics: %w", err)
		}
	}()
	return srv, nil
}

// startBackups starts the backup scheduler on its own small pool (no statement timeout: a
// backup reads whole tables) and returns the function that stops it, waiting for a backup in
// progress to give up.
func startBackups(e *env, f backupFlags, m *metrics.Metrics) (stop func(), err error) {
	backupDB, err := backup.Open(e.ctx, e.cli.DBDSN)
	if err != nil {
		return nil, err
	}
	sched, err := backup.NewScheduler(backupDB, backup.ScheduleConfig{Dir: f.Dir, Interval: f.Interval, Keep: f.Keep, Level: f.Level}, e.log)
	if err != nil {
		_ = backupDB.Close()
		return nil, err
	}
	sched.OnResult(func(r backup.Result) {
		if r.Skipped == "" {
			m.Backup(r.Err == nil, r.Start, r.Duration, r.Bytes, r.Rows)
		}
	})
	e.log.Info("scheduled backups", slog.String("dir", f.Dir), slog.Duration("interval", f.Interval), slog.Int("keep", f.Keep))
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sched.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
		_ = backupDB.Close()
	}, nil
}

// purgeEvery runs each purge (sessions, throttle counts, idempotency keys...) every interval
// until ctx ends, logging failures. Each is safe to run on every replica at once.
func purgeEvery(ctx context.Context, sqlDB *sql.DB, interval time.Duration, log *slog.Logger,
	purges ...func(context.Context, *sql.DB, time.Time) error,
) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, purge := range purges {
				if err := purge(ctx, sqlDB, now); err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "purge failed", slog.String("error", err.Error()))
				}
			}
		}
	}
}

// followSearch loads the replica's search index, then keeps it current until the server stops.
// The replica is not ready (/readyz) until the index is loaded.
func followSearch(e *env, f *searchindex.Follower) {
	start := time.Now()
	for {
		err := f.Start(e.ctx)
		if err == nil {
			break
		}
		if e.ctx.Err() != nil {
			return
		}
		e.log.Error("search index: load failed; trying again", slog.String("error", err.Error()))
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
	e.log.Info("search index loaded", slog.Duration("took", time.Since(start)))
	f.Run(e.ctx, searchFollowInterval, func(err error) {
		e.log.Warn("search index: follow failed", slog.String("error", err.Error()))
	})
}

// searchFollowInterval is how often the search index reads the changes when no request asks.
const searchFollowInterval = 250 * time.Millisecond
