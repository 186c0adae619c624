package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/alumnid/alumnid/internal/database"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// cli is the command line. Every flag can also come from the ALUMNI_… environment variable
// named beside it; the README lists them all.
type cli struct {
	DBDSN     string `name:"db-dsn" env:"ALUMNI_DB_DSN" default:"root@tcp(127.0.0.1:3306)/alumni" help:"go-sql-driver/mysql DSN of the database."`
	LogFormat string `name:"log-format" env:"ALUMNI_LOG_FORMAT" enum:"json,text" default:"json" help:"Log format: json or text."`
	LogLevel  string `name:"log-level" env:"ALUMNI_LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"Lowest level logged."`

	Serve   serveCmd   `cmd:"" help:"Serve the API."`
	Migrate migrateCmd `cmd:"" help:"Change the database schema."`
	Seed    seedCmd    `cmd:"" help:"Load deterministic synthetic alumni."`
	Backup  backupCmd  `cmd:"" help:"Write a consistent snapshot of the database to a file."`
	Restore restoreCmd `cmd:"" help:"Load a backup into an empty database and verify it."`
	Reindex reindexCmd `cmd:"" help:"Recount the analytics summary, write the duplicate keys again and score the likely duplicates again, from the records."`
	User    userCmd    `cmd:"" help:"Manage users."`
	Keygen  keygenCmd  `cmd:"" help:"Create a token signing key file (Ed25519) unless it exists."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

// env is what every command gets: where to write, the logger and the global flags.
type env struct {
	ctx    context.Context
	stdout io.Writer
	log    *slog.Logger
	cli    *cli
}

// run parses args and runs the command they name. It returns the command's error; a parse
// error or --help is reported on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c cli
	exitCode := -1
	parser, err := kong.New(&c,
		kong.Name("alumnid"),
		kong.Description("The alumni records service."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exitCode = code }),
		kong.UsageOnError(),
	)
	if err != nil {
		return err
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 { // --help
		if exitCode == 0 {
			return nil
		}
		return fmt.Errorf("exit %d", exitCode)
	}
	if err != nil {
		return err
	}
	log := newLogger(stdout, c.LogFormat, c.LogLevel)
	return kctx.Run(&env{ctx: ctx, stdout: stdout, log: log, cli: &c})
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	goVersion := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	_, err := fmt.Fprintf(e.stdout, "alumnid %s (schema version %d, %s)\n", version, database.ExpectedVersion, goVersion)
	return err
}

// cidrList parses a comma-separated list of networks (a bare address means that one host).
func cidrList(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			if ip := net.ParseIP(part); ip != nil && ip.To4() != nil {
				part += "/32"
			} else {
				part += "/128"
			}
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR network", part)
		}
		out = append(out, n)
	}
	return out, nil
}

var errSchemaBehind = errors.New("database schema is behind")

// positive returns an error naming the flag when d is not above zero.
func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s must be positive", name)
	}
	return nil
}
