package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/derrors"
)

// Limits bound what one upload may hold. Zero values mean the defaults.
type Limits struct {
	// MaxRows is the most data rows a file may have (default 1,000,000).
	MaxRows int
	// MaxCellChars is the most characters a cell may have (default 10,000, the longest field).
	MaxCellChars int
	// MaxRowBytes is the most bytes one row may take, quoted line breaks included (default
	// 1 MiB, at least 128 KiB): it bounds the memory a row needs, whatever the file.
	MaxRowBytes int
	// MaxColumns is the most columns a file may have (default 500).
	MaxColumns int
}

func (l Limits) withDefaults() Limits {
	if l.MaxRows <= 0 {
		l.MaxRows = 1_000_000
	}
	if l.MaxCellChars <= 0 {
		l.MaxCellChars = 10_000
	}
	if l.MaxRowBytes <= 0 {
		l.MaxRowBytes = 1 << 20
	}
	// The file is read in chunks of up to maxHeaderBytes, so the count of a row's bytes can be
	// one chunk ahead of the row.
	l.MaxRowBytes = max(l.MaxRowBytes, 2*maxHeaderBytes)
	if l.MaxColumns <= 0 {
		l.MaxColumns = 500
	}
	return l
}

const (
	// maxHeaderBytes bounds the header line, which is read whole to find the delimiter.
	maxHeaderBytes = 64 << 10
	// maxHeaderChars bounds one column's header (import_errors.column_name).
	maxHeaderChars = 200
)

// Row is one data row of the file. No counts data rows from 1 (the header is not one); Line
// is the line of the file the row starts on (the header is line 1). Cells are the cells of the
// mapped columns, in the order of Parser.Columns, or nil when the row could not be read: then
// Problem says why.
type Row struct {
	No      int
	Line    int
	Cells   []string
	Problem *Problem
}

// Problem is what is wrong with a row, in a column ("" for the whole row).
type Problem struct {
	Column  string
	Field   string
	Message string
}

// Parser reads a CSV file as it arrives: the header line first (in NewParser), then one row
// at a time. It holds at most one row (bounded by Limits.MaxRowBytes) in memory.
type Parser struct {
	src     *guardReader
	csv     *csv.Reader
	delim   rune
	width   int // columns in the header
	columns []Column
	ignored []string
	limits  Limits
	rows    int
	line    int // the line the last row read starts on
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewParser reads the header of the CSV file r: it strips a UTF-8 byte order mark, finds the
// delimiter (comma or semicolon, whichever the header line has more of) and decides the field
// of each column (m first, then recognition). It returns a Malformed error naming file (or
// mapping) when the file cannot be used: empty, not UTF-8, not CSV, tab-separated, without a
// student id or email column, or with columns the mapping or recognition cannot tell apart.
// Errors of r itself are returned as they are.
func NewParser(r io.Reader, m Mapping, limits Limits) (*Parser, error) {
	limits = limits.withDefaults()
	src := &guardReader{r: r, limit: int64(limits.MaxRowBytes)}
	br := bufio.NewReaderSize(src, maxHeaderBytes)
	head, err := br.Peek(maxHeaderBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if bytes.HasPrefix(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
		head = head[len(utf8BOM):]
	}
	if err := sniff(head); err != nil {
		return nil, err
	}
	line, _, found := bytes.Cut(head, []byte("\n"))
	if !found && len(head) >= maxHeaderBytes-len(utf8BOM) {
		return nil, fileError("The header line is too long.", fmt.Sprintf("has a header line longer than %d KiB; is it a CSV file?", maxHeaderBytes>>10))
	}
	if !utf8.Valid(line) {
		return nil, notUTF8(1)
	}
	delim, err := detectDelimiter(line)
	if err != nil {
		return nil, err
	}

	p := &Parser{src: src, csv: csv.NewReader(br), delim: delim, limits: limits}
	p.csv.Comma = delim
	p.csv.FieldsPerRecord = -1 // checked by Next, for a clearer message
	p.csv.ReuseRecord = true
	rec, err := p.read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fileError("The header line is not valid CSV.", "line 1: "+quoteMessage(pe))
		}
		return nil, err
	}
	if len(rec) > limits.MaxColumns {
		return nil, fileError("The file has too many columns.", fmt.Sprintf("has %d columns; at most %d are accepted", len(rec), limits.MaxColumns))
	}
	headers := make([]string, len(rec))
	for i, h := range rec {
		if !utf8.ValidString(h) {
			return nil, notUTF8(1)
		}
		headers[i] = strings.TrimSpace(h)
		if utf8.RuneCountInString(headers[i]) > maxHeaderChars {
			return nil, fileError("A column header is too long.", fmt.Sprintf("column %d has a header longer than %d characters", i+1, maxHeaderChars))
		}
	}
	p.width = len(headers)
	p.columns, p.ignored, err = resolveColumns(headers, m)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// sniff refuses files that are plainly not UTF-8 CSV, with a hint at what they are.
func sniff(head []byte) error {
	switch {
	case len(bytes.TrimSpace(head)) == 0:
		return fileError("The file is empty.", "is empty; it needs a header line and rows")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return fileError("The file is a spreadsheet workbook, not CSV.", `is a zip file such as an Excel workbook (.xlsx); save it as "CSV UTF-8" and upload that`)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return fileError("The file is UTF-16 text.", `is UTF-16 text; save it as "CSV UTF-8" and upload that`)
	}
	return nil
}

// detectDelimiter returns the delimiter of a header line: a comma or a semicolon, whichever
// occurs more often outside quotes (a comma when neither does: one column).
func detectDelimiter(line []byte) (rune, error) {
	commas, semicolons, tabs := 0, 0, 0
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			commas++
		case c == ';':
			semicolons++
		case c == '\t':
			tabs++
		}
	}
	switch {
	case commas == 0 && semicolons == 0 && tabs > 0:
		return 0, fileError("The file is tab-separated.", "is tab-separated; save it as CSV with commas or semicolons between the columns")
	case semicolons > commas:
		return ';', nil
	}
	return ',', nil
}

// Delimiter returns the delimiter found in the header line.
func (p *Parser) Delimiter() rune { return p.delim }

// Columns returns the columns that set a field, in the order of Row.Cells.
func (p *Parser) Columns() []Column { return p.columns }

// Ignored returns the headers of the columns that set nothing.
func (p *Parser) Ignored() []string { return p.ignored }

// Size returns the bytes of the file read so far (all of it after Next returned io.EOF).
func (p *Parser) Size() int64 { return p.src.n }

// Next returns the next data row, skipping rows whose cells are all empty, or io.EOF after
// the last. A row that is not valid CSV, has the wrong number of cells or a cell that is too
// long is returned with its Problem. It returns a Malformed error naming file when the rest of
// the file cannot be read (it is not UTF-8, or a row is longer than Limits.MaxRowBytes), a
// TooLarge error past Limits.MaxRows, and errors of the underlying reader as they are.
func (p *Parser) Next() (Row, error) {
	for {
		rec, err := p.read()
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return Row{}, err
		}
		if pe == nil && allEmpty(rec) {
			continue
		}
		p.rows++
		if p.rows > p.limits.MaxRows {
			return Row{}, derrors.New(derrors.TooLarge, "The file has too many rows.",
				derrors.FieldError{Field: "file", Message: fmt.Sprintf("has more than %d rows; split it into several files", p.limits.MaxRows)})
		}
		if pe != nil { // a row that is not valid CSV is a row with a problem, not a failure
			return Row{No: p.rows, Line: pe.StartLine, Problem: &Problem{Message: quoteMessage(pe)}}, nil //nolint:nilerr // see above
		}
		row := Row{No: p.rows, Line: p.line}
		for _, cell := range rec {
			if !utf8.ValidString(cell) {
				return Row{}, notUTF8(p.line)
			}
		}
		if row.Problem = p.shape(rec); row.Problem != nil {
			return row, nil
		}
		row.Cells = make([]string, len(p.columns))
		for i, c := range p.columns {
			row.Cells[i] = rec[c.index]
		}
		return row, nil
	}
}

// read reads one record and starts counting the next one's bytes.
func (p *Parser) read() ([]string, error) {
	rec, err := p.csv.Read()
	p.src.mark = p.src.n
	if errors.Is(err, errRowTooLong) {
		return nil, fileError("A row of the file is too long.", fmt.Sprintf(
			"has a row longer than %d KiB after line %d; is a quote (\") left open?", p.limits.MaxRowBytes>>10, max(p.line, 1)))
	}
	if err == nil {
		p.line, _ = p.csv.FieldPos(0)
	}
	return rec, err
}

// shape checks the number of cells and their lengths.
func (p *Parser) shape(rec []string) *Problem {
	n := len(rec)
	for n > p.width && strings.TrimSpace(rec[n-1]) == "" {
		n-- // trailing empty cells past the header's columns are harmless
	}
	if n != p.width {
		return &Problem{Message: fmt.Sprintf("has %d cells but the header has %d columns", len(rec), p.width)}
	}
	for _, c := range p.columns {
		if utf8.RuneCountInString(rec[c.index]) > p.limits.MaxCellChars {
			return &Problem{Column: c.Header, Field: c.Field, Message: fmt.Sprintf("is longer than %d characters", p.limits.MaxCellChars)}
		}
	}
	return nil
}

func allEmpty(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// quoteMessage explains a CSV syntax error of a row.
func quoteMessage(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`line %d, column %d: a quote (") inside a cell that does not start with one; write the cell in quotes and double the quote ("")`, pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf(`line %d, column %d: a quoted cell is not closed properly; a quote (") inside quotes must be doubled ("")`, pe.Line, pe.Column)
	}
	return fmt.Sprintf("line %d, column %d: not valid CSV", pe.Line, pe.Column)
}

func fileError(detail, message string) error {
	return derrors.New(derrors.Malformed, detail, derrors.FieldError{Field: "file", Message: message})
}

func notUTF8(line int) error {
	return fileError("The file is not UTF-8 text.", fmt.Sprintf(
		`is not UTF-8: line %d has bytes that are not UTF-8 (was it saved as Latin-1 or Windows-1252?); save it as "CSV UTF-8" and upload it again`, line))
}

var errRowTooLong = errors.New("row too long")

// guardReader counts the bytes read and fails once the current row (since mark) has taken
// more than limit: csv reads a quoted cell whole, so an unclosed quote would otherwise read
// the rest of the file into memory.
type guardReader struct {
	r     io.Reader
	n     int64
	mark  int64
	limit int64
}

func (g *guardReader) Read(b []byte) (int, error) {
	if g.n-g.mark > g.limit {
		return 0, errRowTooLong
	}
	n, err := g.r.Read(b)
	g.n += int64(n)
	return n, err
}
