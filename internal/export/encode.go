package export

import (
	"bufio"
	"encoding/csv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/alumni"
)

// encoder writes the rows of one format into a buffer; the caller flushes it.
type encoder interface {
	begin() error
	rows(items []alumni.Alumnus) error
	end() error
}

func newEncoder(f Format, w *bufio.Writer, cols []Column) encoder {
	switch f {
	case JSON, NDJSON:
		e := &jsonEncoder{w: w, cols: cols, lines: f == NDJSON, keys: make([][]byte, len(cols))}
		for i, c := range cols {
			e.keys[i] = appendJSONString(nil, c.Name)
			e.keys[i] = append(e.keys[i], ':')
		}
		return e
	}
	cw := csv.NewWriter(w) // shares w: csv.Writer buffers through the *bufio.Writer it is given
	cw.UseCRLF = true
	return &csvEncoder{bw: w, w: cw, cols: cols, record: make([]string, len(cols))}
}

// csvEncoder writes RFC 4180 CSV: UTF-8 with a byte order mark (so that Excel reads it as
// UTF-8), CRLF line endings, a header line of column names.
type csvEncoder struct {
	bw     *bufio.Writer
	w      *csv.Writer
	cols   []Column
	record []string
	buf    []byte
}

func (e *csvEncoder) begin() error {
	if _, err := e.bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	for i, c := range e.cols {
		e.record[i] = c.Name
	}
	return e.w.Write(e.record)
}

func (e *csvEncoder) rows(items []alumni.Alumnus) error {
	for i := range items {
		a := &items[i]
		for j := range e.cols {
			e.record[j] = e.cell(&e.cols[j], a)
		}
		if err := e.w.Write(e.record); err != nil {
			return err
		}
	}
	return nil
}

func (e *csvEncoder) end() error { return nil }

// cell is the text of column c of a: empty when a's reader may not read it or it has no value.
func (e *csvEncoder) cell(c *Column, a *alumni.Alumnus) string {
	if c.withheld(a) {
		return ""
	}
	switch c.kind {
	case kindText:
		return guard(c, c.text(a))
	case kindInt:
		if n := c.num(a); n != 0 {
			return strconv.Itoa(n)
		}
	case kindBool:
		if c.flag(a) {
			return "true"
		}
		return "false"
	case kindTime:
		if t := c.when(a); !t.IsZero() {
			e.buf = t.UTC().AppendFormat(e.buf[:0], time.RFC3339Nano)
			return string(e.buf)
		}
	case kindTags:
		return guard(c, strings.Join(a.Tags, "; "))
	}
	return ""
}

// isPhone reports whether s matches the contract's pattern of a phone number (the Phone
// schema): ^\+?[0-9 ()./-]{3,32}$.
func isPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && !strings.ContainsRune(" ()./-", rune(c)) {
			return false
		}
	}
	return true
}

// guard defuses CSV (formula) injection, as OWASP advises: a cell that a spreadsheet would take
// for a formula — one starting with =, +, -, @, a tab or a carriage return — gets a leading
// single quote, so it stays text. Phone numbers of the contract's pattern are left as they
// are: made of digits, spaces and ()./- after an optional +, they cannot name a function or
// another cell, and "+44 20 7946 0958" is what the office needs to see.
func guard(c *Column, s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if c.Name == "phone" && isPhone(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// jsonEncoder writes a JSON array of ExportRow objects, or, for NDJSON, one object per line.
// Cells without a value are left out.
type jsonEncoder struct {
	w     *bufio.Writer
	cols  []Column
	keys  [][]byte // `"name":` of each column
	lines bool
	n     int
	buf   []byte
}

func (e *jsonEncoder) begin() error {
	if e.lines {
		return nil
	}
	return e.w.WriteByte('[')
}

func (e *jsonEncoder) rows(items []alumni.Alumnus) error {
	for i := range items {
		b := e.buf[:0]
		if !e.lines {
			if e.n > 0 {
				b = append(b, ',')
			}
			b = append(b, '\n')
		}
		b = e.object(b, &items[i])
		if e.lines {
			b = append(b, '\n')
		}
		e.n++
		e.buf = b
		if _, err := e.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (e *jsonEncoder) end() error {
	if e.lines {
		return nil
	}
	if e.n > 0 {
		_ = e.w.WriteByte('\n')
	}
	_, err := e.w.WriteString("]\n")
	return err
}

// object appends the ExportRow of a to b.
func (e *jsonEncoder) object(b []byte, a *alumni.Alumnus) []byte {
	b = append(b, '{')
	empty := true
	for i := range e.cols {
		c := &e.cols[i]
		if c.withheld(a) {
			continue
		}
		mark := len(b)
		if !empty {
			b = append(b, ',')
		}
		b = append(b, e.keys[i]...)
		switch c.kind {
		case kindText:
			s := c.text(a)
			if s == "" {
				b = b[:mark]
				continue
			}
			b = appendJSONString(b, s)
		case kindInt:
			n := c.num(a)
			if n == 0 {
				b = b[:mark]
				continue
			}
			b = strconv.AppendInt(b, int64(n), 10)
		case kindBool:
			b = strconv.AppendBool(b, c.flag(a))
		case kindTime:
			t := c.when(a)
			if t.IsZero() {
				b = b[:mark]
				continue
			}
			b = append(b, '"')
			b = t.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		case kindTags:
			b = append(b, '[')
			for j, t := range a.Tags {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, t)
			}
			b = append(b, ']')
		}
		empty = false
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s to b as a JSON string, as encoding/json writes it without HTML
// escaping: quotes, backslashes and control characters escaped, invalid UTF-8 replaced by
// U+FFFD, and U+2028 and U+2029 escaped (for JavaScript parsers).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
