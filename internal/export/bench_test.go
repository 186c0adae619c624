package export

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// discard is an Output that throws the file away, counting its bytes.
type discard struct{ n int64 }

func (d *discard) Start()                      {}
func (d *discard) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }
func (d *discard) Flush() error                { return nil }

var _ io.Writer = (*discard)(nil)

// BenchmarkExport exports every record of the database at $ALUMNI_EXPORT_BENCH_DSN (e.g.
// root@tcp(127.0.0.1:3306)/alumni_1m) as CSV; it only reads, and is skipped without it.
func BenchmarkExport(b *testing.B) {
	dsn := os.Getenv("ALUMNI_EXPORT_BENCH_DSN")
	if dsn == "" {
		b.Skip("set ALUMNI_EXPORT_BENCH_DSN to a database to export")
	}
	ctx := context.Background()
	sqlDB, err := database.Open(ctx, dsn, database.PoolConfig{MaxOpen: 4, MaxIdle: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer sqlDB.Close()
	search, err := searchindex.Open(ctx, sqlDB)
	if err != nil {
		b.Fatal(err)
	}
	reader := listing.NewReader(sqlDB, search)
	p := auth.Principal{Role: auth.RoleAdmin}
	cols, err := Columns(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	format := Format(os.Getenv("ALUMNI_EXPORT_BENCH_FORMAT"))
	if format == "" {
		format = CSV
	}
	e := New(reader, sqlDB)
	b.ResetTimer()
	for b.Loop() {
		out := &discard{}
		enc := Request{Format: format, Columns: cols}
		res, err := e.stream(ctx, p, enc, out)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Rows), "rows/op")
		b.ReportMetric(float64(out.n)/1e6, "MB/op")
	}
}
