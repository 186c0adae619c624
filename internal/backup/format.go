// Package backup writes consistent snapshots of the database to a compressed file, restores
// them into an empty database, and takes them on a schedule with a retention count.
//
// # File format (version 1)
//
// A backup file is one gzip stream of UTF-8 text lines, each ending in "\n":
//
//	{"format":"alumnid-backup","version":1,"schemaVersion":17,"createdAt":"…","server":"…"}
//	{"table":"alumni","columns":[{"name":"id","kind":"int","type":"bigint(20)"},…],"primaryKey":["id"]}
//	[1,"01JD3M5X7V8Q9R2S4T6W8Y0Z1A",1,null,"Ada",…]
//	…                                                 one line per row, in primary-key order
//	{"end":"alumni","rows":5000,"sha256":"…"}
//	{"table":"alumni_stats",…}                        the next table (tables in name order)
//	…
//	{"manifest":{…},"fileSha256":"…"}
//
// A row is a JSON array with one value per column, typed by the column's kind: "int" columns
// are JSON numbers (the server's decimal text, exact for every 64-bit value), NULL is null,
// "bytes" columns (BINARY, VARBINARY, BLOB) are base64 strings, and every other kind ("text",
// "time", "decimal", "json") is a JSON string holding the server's text form byte for byte.
// Strings escape only `"`, `\` and control characters (as \u00XX), so the same rows always give
// the same bytes. A table's sha256 is the SHA-256 of its row lines (each with its "\n"); the
// manifest repeats the header and lists every table's name, row count and sha256; fileSha256 is
// the SHA-256 of every line before the manifest's. Nothing follows the manifest line. gzip's
// own CRC-32 and length cover the compressed stream.
package backup

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Format and FormatVersion name the file format this package writes and reads.
const (
	Format        = "alumnid-backup"
	FormatVersion = 1
)

// ErrDamaged is wrapped by every error about a backup file that is not what its manifest
// says: damaged, truncated, or not a backup at all.
var ErrDamaged = errors.New("the backup file is damaged or truncated")

// Kind is how a column's values are encoded.
type Kind string

// The kinds of column a backup holds.
const (
	KindInt     Kind = "int"     // TINYINT … BIGINT, BOOLEAN: a JSON number
	KindBytes   Kind = "bytes"   // BINARY, VARBINARY, BLOB: base64 in a JSON string
	KindText    Kind = "text"    // CHAR, VARCHAR, TEXT, ENUM, SET
	KindTime    Kind = "time"    // DATE, DATETIME, TIMESTAMP, TIME, YEAR: the server's text form
	KindDecimal Kind = "decimal" // DECIMAL: its text form
	KindJSON    Kind = "json"    // JSON: the stored text
)

// Column is one column of a table section.
type Column struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Type string `json:"type"` // the column type as the server describes it, for people
}

// TableHeader starts a table section.
type TableHeader struct {
	Table      string   `json:"table"`
	Columns    []Column `json:"columns"`
	PrimaryKey []string `json:"primaryKey"`
}

// tableEnd ends a table section.
type tableEnd struct {
	End    string `json:"end"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Header is the first line of a backup file.
type Header struct {
	Format        string    `json:"format"`
	Version       int       `json:"version"`
	SchemaVersion uint      `json:"schemaVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	Server        string    `json:"server"`
}

// TableSum is a table's entry in the manifest.
type TableSum struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Manifest describes a whole backup: what the header says, and every table's row count and
// content checksum.
type Manifest struct {
	Header
	Tables []TableSum `json:"tables"`
}

// Rows is the number of rows of every table together.
func (m Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

type trailer struct {
	Manifest   Manifest `json:"manifest"`
	FileSHA256 string   `json:"fileSha256"`
}

// fileWriter writes the lines of a backup through gzip and keeps the checksums.
type fileWriter struct {
	gz        *gzip.Writer
	bw        *bufio.Writer
	file      hash.Hash
	table     hash.Hash
	line      []byte
	scratch   []byte
	rows      int64
	manifest  Manifest
	tableName string
}

func newFileWriter(w io.Writer, level int, h Header) (*fileWriter, error) {
	gz, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return nil, fmt.Errorf("backup compression level: %w", err)
	}
	fw := &fileWriter{gz: gz, bw: bufio.NewWriterSize(gz, 256<<10), file: sha256.New(), table: sha256.New(), manifest: Manifest{Header: h}}
	return fw, fw.control(h)
}

// control writes one JSON line.
func (fw *fileWriter) control(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode backup line: %w", err)
	}
	return fw.write(append(b, '\n'), false)
}

func (fw *fileWriter) write(line []byte, row bool) error {
	fw.file.Write(line)
	if row {
		fw.table.Write(line)
	}
	if _, err := fw.bw.Write(line); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

func (fw *fileWriter) beginTable(t TableHeader) error {
	fw.table.Reset()
	fw.rows = 0
	fw.tableName = t.Table
	return fw.control(t)
}

// row encodes one row of raw column values (nil is NULL) as the kinds of cols say.
func (fw *fileWriter) row(cols []Column, values [][]byte) error {
	line, err := appendRow(fw.line[:0], &fw.scratch, cols, values)
	if err != nil {
		return fmt.Errorf("table %s: %w", fw.tableName, err)
	}
	fw.line = line
	fw.rows++
	return fw.write(line, true)
}

func (fw *fileWriter) endTable() error {
	sum := hex.EncodeToString(fw.table.Sum(nil))
	fw.manifest.Tables = append(fw.manifest.Tables, TableSum{Name: fw.tableName, Rows: fw.rows, SHA256: sum})
	return fw.control(tableEnd{End: fw.tableName, Rows: fw.rows, SHA256: sum})
}

// finish writes the manifest and closes the gzip stream (not the underlying writer).
func (fw *fileWriter) finish() (Manifest, error) {
	t := trailer{Manifest: fw.manifest, FileSHA256: hex.EncodeToString(fw.file.Sum(nil))}
	if err := fw.control(t); err != nil {
		return Manifest{}, err
	}
	if err := fw.bw.Flush(); err != nil {
		return Manifest{}, fmt.Errorf("write backup: %w", err)
	}
	if err := fw.gz.Close(); err != nil {
		return Manifest{}, fmt.Errorf("write backup: %w", err)
	}
	return fw.manifest, nil
}

// appendRow appends the canonical encoding of one row, with its "\n", to dst. It fails when
// an int column holds something other than a decimal integer or a text column holds invalid
// UTF-8, which would not survive the round trip.
func appendRow(dst []byte, scratch *[]byte, cols []Column, values [][]byte) ([]byte, error) {
	dst = append(dst, '[')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v == nil {
			dst = append(dst, "null"...)
			continue
		}
		switch cols[i].Kind {
		case KindInt:
			if !isInteger(v) {
				return nil, fmt.Errorf("column %s: %q is not an integer", cols[i].Name, v)
			}
			dst = append(dst, v...)
		case KindBytes:
			n := base64.StdEncoding.EncodedLen(len(v))
			if cap(*scratch) < n {
				*scratch = make([]byte, n)
			}
			enc := (*scratch)[:n]
			base64.StdEncoding.Encode(enc, v)
			dst = append(dst, '"')
			dst = append(dst, enc...)
			dst = append(dst, '"')
		default:
			if !utf8.Valid(v) {
				return nil, fmt.Errorf("column %s holds a value that is not valid UTF-8", cols[i].Name)
			}
			dst = appendString(dst, v)
		}
	}
	return append(dst, ']', '\n'), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping only what JSON requires.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func isInteger(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 20 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// value is one decoded value of a row: nil for NULL.
type value []byte

// span locates one decoded value: in the decoder's buffer (strings) or in the line (numbers).
type span struct {
	inBuf      bool
	null       bool
	start, end int
}

// rowDecoder parses row lines, reusing its buffers; the values it returns are valid until the
// next call.
type rowDecoder struct {
	vals  []value
	buf   []byte
	spans []span
}

// decode parses a row line (without its "\n") into values, one per column. A string value is
// unescaped; base64 is left to the caller. It fails on anything the encoder would not have
// written.
func (d *rowDecoder) decode(line []byte, cols []Column) ([]value, error) {
	vals, buf, spans := d.vals[:0], d.buf[:0], d.spans[:0]
	defer func() { d.vals, d.buf, d.spans = vals, buf, spans }()
	if len(line) < 2 || line[0] != '[' || line[len(line)-1] != ']' {
		return nil, errors.New("a row is not a JSON array")
	}
	p := 1
	for {
		if len(spans) == len(cols) {
			return nil, fmt.Errorf("a row has more than %d values", len(cols))
		}
		if p >= len(line) {
			return nil, errors.New("a row ends early")
		}
		kind := cols[len(spans)].Kind
		switch line[p] {
		case 'n':
			if len(line) < p+4 || string(line[p:p+4]) != "null" {
				return nil, errors.New("a row holds an unknown literal")
			}
			spans = append(spans, span{null: true})
			p += 4
		case '"':
			if kind == KindInt {
				return nil, fmt.Errorf("column %s holds a string, not a number", cols[len(spans)].Name)
			}
			start := len(buf)
			p++
			for {
				if p >= len(line) {
					return nil, errors.New("a row holds an unterminated string")
				}
				c := line[p]
				if c == '"' {
					p++
					break
				}
				if c != '\\' {
					q := p
					for q < len(line) && line[q] != '"' && line[q] != '\\' {
						q++
					}
					buf = append(buf, line[p:q]...)
					p = q
					continue
				}
				if p+1 >= len(line) {
					return nil, errors.New("a row holds a bad escape")
				}
				switch line[p+1] {
				case '"', '\\':
					buf = append(buf, line[p+1])
					p += 2
				case 'u':
					if p+6 > len(line) || line[p+2] != '0' || line[p+3] != '0' {
						return nil, errors.New("a row holds a bad escape")
					}
					n, err := strconv.ParseUint(string(line[p+4:p+6]), 16, 8)
					if err != nil || n >= 0x20 {
						return nil, errors.New("a row holds a bad escape")
					}
					buf = append(buf, byte(n))
					p += 6
				default:
					return nil, errors.New("a row holds a bad escape")
				}
			}
			spans = append(spans, span{inBuf: true, start: start, end: len(buf)})
		default:
			if kind != KindInt {
				return nil, fmt.Errorf("column %s holds a number, not a string", cols[len(spans)].Name)
			}
			q := p
			for q < len(line) && line[q] != ',' && line[q] != ']' {
				q++
			}
			if !isInteger(line[p:q]) {
				return nil, errors.New("a row holds a bad number")
			}
			spans = append(spans, span{start: p, end: q})
			p = q
		}
		if p >= len(line) {
			return nil, errors.New("a row ends early")
		}
		if line[p] == ']' {
			if p != len(line)-1 {
				return nil, errors.New("a row has data after its end")
			}
			break
		}
		if line[p] != ',' {
			return nil, errors.New("a row lacks a comma between values")
		}
		p++
	}
	if len(spans) != len(cols) {
		return nil, fmt.Errorf("a row has %d values, not %d", len(spans), len(cols))
	}
	for _, s := range spans {
		switch {
		case s.null:
			vals = append(vals, nil)
		case s.inBuf:
			vals = append(vals, value(buf[s.start:s.end:s.end]))
		default:
			vals = append(vals, value(line[s.start:s.end:s.end]))
		}
	}
	return vals, nil
}

// fileReader reads the lines of a backup and checks its structure and checksums as it goes.
type fileReader struct {
	br       *bufio.Reader
	gz       *gzip.Reader
	file     hash.Hash
	table    hash.Hash
	long     []byte
	header   Header
	sections []TableSum
	current  *TableHeader
	rows     int64
	lineNo   int64
	done     bool
	manifest Manifest
}

// damaged wraps err (or makes one from format and args) as ErrDamaged.
func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrDamaged, fmt.Errorf(format, args...))
}

func newFileReader(r io.Reader) (*fileReader, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, damaged("not a gzip stream: %w", err)
	}
	fr := &fileReader{br: bufio.NewReaderSize(gz, 1<<20), gz: gz, file: sha256.New(), table: sha256.New()}
	line, err := fr.readLine()
	if err != nil {
		return nil, err
	}
	fr.file.Write(line)
	if err := json.Unmarshal(line, &fr.header); err != nil || fr.header.Format != Format {
		return nil, damaged("the first line is not an alumnid backup header")
	}
	if fr.header.Version != FormatVersion {
		return nil, fmt.Errorf("the backup has format version %d; this alumnid reads version %d", fr.header.Version, FormatVersion)
	}
	return fr, nil
}

// readLine returns the next line with its "\n"; the slice is valid until the next call.
func (fr *fileReader) readLine() ([]byte, error) {
	line, err := fr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		fr.long = append(fr.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = fr.br.ReadSlice('\n')
			fr.long = append(fr.long, line...)
		}
		line = fr.long
	}
	fr.lineNo++
	if err == nil {
		return line, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		where := "before its manifest"
		if fr.current != nil {
			where = fmt.Sprintf("in table %s after %d rows", fr.current.Table, fr.rows)
		}
		return nil, damaged("the file ends %s (line %d)", where, fr.lineNo)
	}
	return nil, damaged("line %d: %w", fr.lineNo, err)
}

// event is what next read.
type event int

const (
	evTable event = iota + 1 // a table section starts: fr.current
	evRow                    // a row of fr.current: the line
	evEnd                    // the table section ended, its checksum matched
	evDone                   // the manifest matched; the stream ended cleanly
)

// next reads one line and checks it. On evRow it returns the row line without its "\n".
func (fr *fileReader) next() (event, []byte, error) {
	line, err := fr.readLine()
	if err != nil {
		return 0, nil, err
	}
	switch {
	case line[0] == '[':
		if fr.current == nil {
			return 0, nil, damaged("line %d: a row outside any table", fr.lineNo)
		}
		fr.file.Write(line)
		fr.table.Write(line)
		fr.rows++
		return evRow, line[:len(line)-1], nil
	case hasPrefix(line, `{"table":`):
		fr.file.Write(line)
		if fr.current != nil {
			return 0, nil, damaged("line %d: table %s has no end", fr.lineNo, fr.current.Table)
		}
		var t TableHeader
		if err := json.Unmarshal(line, &t); err != nil || t.Table == "" || len(t.Columns) == 0 {
			return 0, nil, damaged("line %d: a bad table header", fr.lineNo)
		}
		for _, c := range t.Columns {
			switch c.Kind {
			case KindInt, KindBytes, KindText, KindTime, KindDecimal, KindJSON:
			default:
				return 0, nil, damaged("line %d: column %s.%s has unknown kind %q", fr.lineNo, t.Table, c.Name, c.Kind)
			}
		}
		fr.current, fr.rows = &t, 0
		fr.table.Reset()
		return evTable, nil, nil
	case hasPrefix(line, `{"end":`):
		fr.file.Write(line)
		var e tableEnd
		if err := json.Unmarshal(line, &e); err != nil || fr.current == nil || e.End != fr.current.Table {
			return 0, nil, damaged("line %d: a table end that does not match its start", fr.lineNo)
		}
		sum := hex.EncodeToString(fr.table.Sum(nil))
		if e.Rows != fr.rows || e.SHA256 != sum {
			return 0, nil, damaged("table %s: %d rows with checksum %.12s…, the file says %d rows with %.12s…", e.End, fr.rows, sum, e.Rows, e.SHA256)
		}
		fr.sections = append(fr.sections, TableSum{Name: e.End, Rows: e.Rows, SHA256: e.SHA256})
		fr.current = nil
		return evEnd, nil, nil
	case hasPrefix(line, `{"manifest":`):
		return evDone, nil, fr.finish(line)
	}
	return 0, nil, damaged("line %d is not part of a backup", fr.lineNo)
}

func (fr *fileReader) finish(line []byte) error {
	var t trailer
	if err := json.Unmarshal(line, &t); err != nil {
		return damaged("a bad manifest: %w", err)
	}
	if fr.current != nil {
		return damaged("table %s has no end", fr.current.Table)
	}
	if sum := hex.EncodeToString(fr.file.Sum(nil)); t.FileSHA256 != sum {
		return damaged("the file's checksum is %.12s…, the manifest says %.12s…", sum, t.FileSHA256)
	}
	m := t.Manifest
	if m.Format != fr.header.Format || m.Version != fr.header.Version || m.SchemaVersion != fr.header.SchemaVersion ||
		!m.CreatedAt.Equal(fr.header.CreatedAt) || m.Server != fr.header.Server {
		return damaged("the manifest does not match the header")
	}
	if len(m.Tables) != len(fr.sections) {
		return damaged("the manifest lists %d tables, the file holds %d", len(m.Tables), len(fr.sections))
	}
	for i, s := range fr.sections {
		if m.Tables[i] != s {
			return damaged("the manifest's entry for table %s does not match the table", s.Name)
		}
	}
	// Nothing may follow, and reading to the end makes gzip check its CRC-32 and length.
	if n, err := io.Copy(io.Discard, fr.br); err != nil {
		return damaged("after the manifest: %w", err)
	} else if n > 0 {
		return damaged("%d bytes follow the manifest", n)
	}
	if err := fr.gz.Close(); err != nil {
		return damaged("%w", err)
	}
	fr.manifest, fr.done = m, true
	return nil
}

func newHash() hash.Hash { return sha256.New() }

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// Check reads a whole backup from r and verifies it: structure, every table's row count and
// checksum, the manifest and the file checksum. It returns the manifest, or an error wrapping
// ErrDamaged that says what is wrong.
func Check(r io.Reader) (Manifest, error) {
	fr, err := newFileReader(r)
	if err != nil {
		return Manifest{}, err
	}
	var dec rowDecoder
	for {
		ev, line, err := fr.next()
		if err != nil {
			return Manifest{}, err
		}
		switch ev {
		case evRow:
			if _, err := dec.decode(line, fr.current.Columns); err != nil {
				return Manifest{}, damaged("table %s, line %d: %w", fr.current.Table, fr.lineNo, err)
			}
		case evDone:
			return fr.manifest, nil
		}
	}
}
