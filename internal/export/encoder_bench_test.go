package export

import (
	"bufio"
	"encoding/json"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/seed"
)

// The JSON export's encoder is written by hand (encode.go). These benchmarks weigh it against
// what it would otherwise be: each record put in a map of its readable columns (the columns
// are chosen per request, and a column without a value is left out), then encoded by
// encoding/json, or by go-json-experiment/json (the source of Go's encoding/json/v2). All
// three write the same objects (the maps' keys in sorted order); the figures are per record,
// over 10,000 synthetic records with every column.
//
//	go test ./internal/export -run '^$' -bench JSONEncoder -benchmem

func benchRecords(b *testing.B) ([]alumni.Alumnus, []Column) {
	b.Helper()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g := seed.NewGenerator(7, 0, now)
	items := make([]alumni.Alumnus, 10000)
	for i := range items {
		f := g.Next(i + 1)
		if err := alumni.Normalize(&f, now); err != nil {
			b.Fatal(err)
		}
		items[i] = alumni.Alumnus{ID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1A", Version: 1, Fields: f, CreatedAt: now, UpdatedAt: now}
	}
	cols, err := Columns(auth.Principal{Role: auth.RoleAdmin}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return items, cols
}

// row is a record as a map of its columns with a value, for the generic encoders.
func row(cols []Column, a *alumni.Alumnus) map[string]any {
	m := make(map[string]any, len(cols))
	for i := range cols {
		c := &cols[i]
		if c.withheld(a) {
			continue
		}
		switch c.kind {
		case kindText:
			if s := c.text(a); s != "" {
				m[c.Name] = s
			}
		case kindInt:
			if n := c.num(a); n != 0 {
				m[c.Name] = n
			}
		case kindBool:
			m[c.Name] = c.flag(a)
		case kindTime:
			if t := c.when(a); !t.IsZero() {
				m[c.Name] = t.UTC()
			}
		case kindTags:
			m[c.Name] = a.Tags
		}
	}
	return m
}

func BenchmarkJSONEncoder(b *testing.B) {
	items, cols := benchRecords(b)
	report := func(b *testing.B, written int64) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/record")
		b.ReportMetric(float64(written)/float64(b.N*len(items)), "bytes/record")
	}
	b.Run("hand-written", func(b *testing.B) {
		var written int64
		for b.Loop() {
			out := &discard{}
			w := bufio.NewWriterSize(out, 64<<10)
			e := newEncoder(NDJSON, w, cols)
			if err := e.rows(items); err != nil {
				b.Fatal(err)
			}
			_ = w.Flush()
			written += out.n
		}
		report(b, written)
	})
	b.Run("encoding-json-map", func(b *testing.B) {
		var written int64
		for b.Loop() {
			out := &discard{}
			w := bufio.NewWriterSize(out, 64<<10)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for i := range items {
				if err := enc.Encode(row(cols, &items[i])); err != nil {
					b.Fatal(err)
				}
			}
			_ = w.Flush()
			written += out.n
		}
		report(b, written)
	})
	b.Run("json-v2-map", func(b *testing.B) {
		var written int64
		for b.Loop() {
			out := &discard{}
			w := bufio.NewWriterSize(out, 64<<10)
			for i := range items {
				if err := jsonv2.MarshalWrite(w, row(cols, &items[i])); err != nil {
					b.Fatal(err)
				}
				_ = w.WriteByte('\n')
			}
			_ = w.Flush()
			written += out.n
		}
		report(b, written)
	})
}
