package backup_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/backup"
)

// craftedText is a small backup written by hand: two tables, every kind of value the decoder
// sees (number, string, base64, null). Its table ends and manifest are left for reseal.
const craftedText = `{"format":"alumnid-backup","version":1,"schemaVersion":18,"createdAt":"2025-01-02T03:04:05.123456Z","server":"test"}
{"table":"a","columns":[{"name":"id","kind":"int","type":"bigint(20)"},{"name":"name","kind":"text","type":"varchar(10)"},{"name":"data","kind":"bytes","type":"blob"}],"primaryKey":["id"]}
[1,"x","AAE="]
[2,null,null]
{"end":"a"}
{"table":"b","columns":[{"name":"k","kind":"text","type":"char(1)"}],"primaryKey":["k"]}
["q"]
{"end":"b"}
{"manifest":{}}
`

// reseal recomputes, as the package comment of backup describes the format, everything a
// backup checksums: each table end's row count and SHA-256, the manifest (the header's fields
// and every table's sum) and the file's SHA-256. An edit made before reseal gets past the
// checksums to the checks behind them; lines after the manifest are kept as they are.
func reseal(t *testing.T, text string) string {
	t.Helper()
	lines := strings.SplitAfter(text, "\n")
	var (
		out    strings.Builder
		file   = sha256.New()
		table  = sha256.New()
		name   string
		rows   int64
		header map[string]json.RawMessage
		sums   []backup.TableSum
	)
	for i, line := range lines {
		switch {
		case i == 0:
			if err := json.Unmarshal([]byte(line), &header); err != nil {
				t.Fatalf("reseal: the header: %v", err)
			}
		case strings.HasPrefix(line, `{"table":`):
			var h backup.TableHeader
			if err := json.Unmarshal([]byte(line), &h); err != nil {
				t.Fatalf("reseal: line %d: %v", i+1, err)
			}
			name, rows = h.Table, 0
			table.Reset()
		case strings.HasPrefix(line, "["):
			table.Write([]byte(line))
			rows++
		case strings.HasPrefix(line, `{"end":`):
			sum := hex.EncodeToString(table.Sum(nil))
			sums = append(sums, backup.TableSum{Name: name, Rows: rows, SHA256: sum})
			line = string(mustMarshal(t, struct {
				End    string `json:"end"`
				Rows   int64  `json:"rows"`
				SHA256 string `json:"sha256"`
			}{name, rows, sum})) + "\n"
		case strings.HasPrefix(line, `{"manifest":`):
			m := map[string]json.RawMessage{"tables": mustMarshal(t, sums)}
			for k, v := range header {
				m[k] = v
			}
			out.Write(mustMarshal(t, trailer[map[string]json.RawMessage]{m, hex.EncodeToString(file.Sum(nil))}))
			out.WriteString("\n")
			out.WriteString(strings.Join(lines[i+1:], ""))
			return out.String()
		}
		file.Write([]byte(line))
		out.WriteString(line)
	}
	t.Fatal("reseal: no manifest line")
	return ""
}

// trailer is the manifest line: the manifest must come first, as the reader looks for
// `{"manifest":`.
type trailer[M any] struct {
	Manifest   M      `json:"manifest"`
	FileSHA256 string `json:"fileSha256"`
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rowSum is the SHA-256 of row lines as a table end records it.
func rowSum(rows ...string) string {
	h := sha256.New()
	for _, r := range rows {
		h.Write([]byte(r + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileSum is the SHA-256 of every line of text before its manifest line.
func fileSum(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, `{"manifest":`)
	if i < 0 {
		t.Fatal("no manifest line")
	}
	s := sha256.Sum256([]byte(text[:i]))
	return hex.EncodeToString(s[:])
}

// replaceOnce replaces old in s by new, and fails the test unless old occurs exactly once.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// upTo returns s up to the first sub, and fails the test unless s holds sub.
func upTo(t *testing.T, s, sub string) string {
	t.Helper()
	i := strings.Index(s, sub)
	if i < 0 {
		t.Fatalf("no %q", sub)
	}
	return s[:i]
}

// editManifest decodes the manifest line of text, lets edit change it and encodes it again.
func editManifest(t *testing.T, text string, edit func(m map[string]any)) string {
	t.Helper()
	i := strings.Index(text, `{"manifest":`)
	end := i + strings.IndexByte(text[i:], '\n')
	var tr trailer[map[string]any]
	if err := json.Unmarshal([]byte(text[i:end]), &tr); err != nil {
		t.Fatal(err)
	}
	edit(tr.Manifest)
	return text[:i] + string(mustMarshal(t, tr)) + text[end:]
}

func gzipText(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gunzipText(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

// damagedMessage is the message of an error that wraps ErrDamaged with detail.
func damagedMessage(detail string) string { return backup.ErrDamaged.Error() + ": " + detail }

// TestCheckCraftedFile: a file written by hand to the documented format checks out, with the
// manifest the test computed; so does one whose row is longer than the reader's buffer.
func TestCheckCraftedFile(t *testing.T) {
	t.Parallel()
	header := backup.Header{Format: backup.Format, Version: backup.FormatVersion, SchemaVersion: 18,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC), Server: "test"}
	long := `[3,"` + strings.Repeat("é", 1<<20) + `",null]` // 2 MiB: longer than the 1 MiB read buffer
	tests := []struct {
		name string
		text string
		want []backup.TableSum
	}{
		{"as written", craftedText, []backup.TableSum{
			{Name: "a", Rows: 2, SHA256: rowSum(`[1,"x","AAE="]`, `[2,null,null]`)},
			{Name: "b", Rows: 1, SHA256: rowSum(`["q"]`)},
		}},
		{"a row longer than the read buffer", replaceOnce(t, craftedText, "[2,null,null]\n", "[2,null,null]\n"+long+"\n"), []backup.TableSum{
			{Name: "a", Rows: 3, SHA256: rowSum(`[1,"x","AAE="]`, `[2,null,null]`, long)},
			{Name: "b", Rows: 1, SHA256: rowSum(`["q"]`)},
		}},
		{"no tables", `{"format":"alumnid-backup","version":1,"schemaVersion":18,"createdAt":"2025-01-02T03:04:05.123456Z","server":"test"}
{"manifest":{}}
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := backup.Check(bytes.NewReader(gzipText(t, reseal(t, tt.text))))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(backup.Manifest{Header: header, Tables: tt.want}, m); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckRefusesBrokenFiles: every structural check of the reader, and every checksum, fails
// on a file broken in just that way, with the message that says where. Only a newer format
// version is not damage.
func TestCheckRefusesBrokenFiles(t *testing.T) {
	t.Parallel()
	sealed := reseal(t, craftedText)
	row1, row2 := `[1,"x","AAE="]`, `[2,null,null]`
	good := gzipText(t, sealed)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 0x01 // the trailer is CRC-32, then the length
	edited := replaceOnce(t, sealed, `[1,"x",`, `[1,"y",`)
	reheaded := replaceOnce(t, sealed, `"server":"test"}`+"\n", `"server":"tesT"}`+"\n")

	manifestEdit := func(edit func(m map[string]any)) []byte { return gzipText(t, editManifest(t, sealed, edit)) }
	tests := []struct {
		name string
		data []byte
		want string // the whole message
	}{
		{"not gzip", []byte("this is not a gzip file"), damagedMessage("not a gzip stream: gzip: invalid header")},
		{"empty gzip stream", gzipText(t, ""), damagedMessage("the file ends before its manifest (line 1)")},
		{"header not JSON", gzipText(t, replaceOnce(t, sealed, sealed[:strings.IndexByte(sealed, '\n')], "hello")),
			damagedMessage("the first line is not an alumnid backup header")},
		{"header of another format", gzipText(t, reseal(t, replaceOnce(t, craftedText, `"format":"alumnid-backup"`, `"format":"other-backup"`))),
			damagedMessage("the first line is not an alumnid backup header")},
		{"newer format version", gzipText(t, reseal(t, replaceOnce(t, craftedText, `"version":1,`, `"version":2,`))),
			"the backup has format version 2; this alumnid reads version 1"},
		{"cut after a row", gzipText(t, upTo(t, sealed, row2)), damagedMessage("the file ends in table a after 1 rows (line 4)")},
		{"cut inside a row", gzipText(t, upTo(t, sealed, row2)+row2[:5]), damagedMessage("the file ends in table a after 1 rows (line 4)")},
		{"cut before the manifest", gzipText(t, upTo(t, sealed, `{"manifest":`)), damagedMessage("the file ends before its manifest (line 9)")},
		{"row outside any table", gzipText(t, replaceOnce(t, sealed, `{"table":"a"`, "[0]\n"+`{"table":"a"`)),
			damagedMessage("line 2: a row outside any table")},
		{"table without an end", gzipText(t, replaceOnce(t, sealed, sealed[strings.Index(sealed, `{"end":"a"`):strings.Index(sealed, `{"table":"b"`)], "")),
			damagedMessage("line 5: table a has no end")},
		{"table without columns", gzipText(t, replaceOnce(t, sealed, `{"table":"b","columns":[{"name":"k","kind":"text","type":"char(1)"}]`, `{"table":"b","columns":[]`)),
			damagedMessage("line 6: a bad table header")},
		{"table header not JSON", gzipText(t, replaceOnce(t, sealed, `{"table":"b","columns":[{"name":"k","kind":"text","type":"char(1)"}],"primaryKey":["k"]}`, `{"table":"b",`)),
			damagedMessage("line 6: a bad table header")},
		{"table without a name", gzipText(t, replaceOnce(t, sealed, `{"table":"b"`, `{"table":""`)),
			damagedMessage("line 6: a bad table header")},
		{"column of unknown kind", gzipText(t, replaceOnce(t, sealed, `"kind":"bytes"`, `"kind":"float"`)),
			damagedMessage(`line 2: column a.data has unknown kind "float"`)},
		{"end of another table", gzipText(t, replaceOnce(t, sealed, `{"end":"a"`, `{"end":"b"`)),
			damagedMessage("line 5: a table end that does not match its start")},
		{"end outside any table", gzipText(t, replaceOnce(t, sealed, `{"table":"a"`, `{"end":"a","rows":0,"sha256":""}`+"\n"+`{"table":"a"`)),
			damagedMessage("line 2: a table end that does not match its start")},
		{"end not JSON", gzipText(t, replaceOnce(t, sealed, `{"end":"b","rows":1`, `{"end":"b","rows":"one"`)),
			damagedMessage("line 8: a table end that does not match its start")},
		{"row missing", gzipText(t, replaceOnce(t, sealed, row2+"\n", "")),
			damagedMessage(fmt.Sprintf("table a: 1 rows with checksum %.12s…, the file says 2 rows with %.12s…", rowSum(row1), rowSum(row1, row2)))},
		{"row edited", gzipText(t, edited),
			damagedMessage(fmt.Sprintf("table a: 2 rows with checksum %.12s…, the file says 2 rows with %.12s…", rowSum(`[1,"y","AAE="]`, row2), rowSum(row1, row2)))},
		{"line of no known kind", gzipText(t, replaceOnce(t, sealed, `{"table":"b"`, `{"comment":"hi"}`+"\n"+`{"table":"b"`)),
			damagedMessage("line 6 is not part of a backup")},
		{"empty line", gzipText(t, replaceOnce(t, sealed, `{"table":"b"`, "\n"+`{"table":"b"`)),
			damagedMessage("line 6 is not part of a backup")},
		{"manifest not JSON", gzipText(t, upTo(t, sealed, `{"manifest":`)+`{"manifest":{`+"\n"),
			damagedMessage("a bad manifest: unexpected end of JSON input")},
		{"manifest inside a table", gzipText(t, reseal(t, replaceOnce(t, craftedText, `{"end":"b"}`+"\n", ""))),
			damagedMessage("table b has no end")},
		{"header edited", gzipText(t, reheaded),
			damagedMessage(fmt.Sprintf("the file's checksum is %.12s…, the manifest says %.12s…", fileSum(t, reheaded), fileSum(t, sealed)))},
		{"manifest of another server", manifestEdit(func(m map[string]any) { m["server"] = "other" }),
			damagedMessage("the manifest does not match the header")},
		{"manifest of another time", manifestEdit(func(m map[string]any) { m["createdAt"] = "2025-01-02T03:04:05.123457Z" }),
			damagedMessage("the manifest does not match the header")},
		{"manifest of another schema", manifestEdit(func(m map[string]any) { m["schemaVersion"] = 17 }),
			damagedMessage("the manifest does not match the header")},
		{"manifest of another format version", manifestEdit(func(m map[string]any) { m["version"] = 2 }),
			damagedMessage("the manifest does not match the header")},
		{"manifest of another format", manifestEdit(func(m map[string]any) { m["format"] = "other" }),
			damagedMessage("the manifest does not match the header")},
		{"manifest without a table", manifestEdit(func(m map[string]any) { m["tables"] = m["tables"].([]any)[:1] }),
			damagedMessage("the manifest lists 1 tables, the file holds 2")},
		{"manifest with another row count", manifestEdit(func(m map[string]any) { m["tables"].([]any)[1].(map[string]any)["rows"] = 2 }),
			damagedMessage("the manifest's entry for table b does not match the table")},
		{"manifest with another checksum", manifestEdit(func(m map[string]any) { m["tables"].([]any)[0].(map[string]any)["sha256"] = rowSum(row1) }),
			damagedMessage("the manifest's entry for table a does not match the table")},
		{"a line after the manifest", gzipText(t, sealed+"[3]\n"), damagedMessage("4 bytes follow the manifest")},
		{"a second gzip stream", append(bytes.Clone(good), gzipText(t, "extra\n")...), damagedMessage("6 bytes follow the manifest")},
		{"bytes after the gzip stream", append(bytes.Clone(good), "this is not gzip data"...), damagedMessage("after the manifest: gzip: invalid header")},
		{"gzip trailer cut off", good[:len(good)-8], damagedMessage("after the manifest: unexpected EOF")},
		{"gzip checksum wrong", badCRC, damagedMessage("after the manifest: gzip: invalid checksum")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := backup.Check(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("Check accepted the file: %+v", m)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Check: %s\nwant:  %s", got, tt.want)
			}
			if want := strings.HasPrefix(tt.want, backup.ErrDamaged.Error()); errors.Is(err, backup.ErrDamaged) != want {
				t.Errorf("errors.Is(err, ErrDamaged) = %v, want %v", !want, want)
			}
		})
	}
}

// TestCheckRefusesBadRows: a row the encoder would not have written is refused, with the
// table, the line and what is wrong, even when the checksums match it.
func TestCheckRefusesBadRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		row  string // in place of the second row of table a: id int, name text, data bytes
		want string
	}{
		{`[2,null,null`, "a row is not a JSON array"},
		{`[`, "a row is not a JSON array"},
		{`[2,null,null,null]`, "a row has more than 3 values"},
		{`[2,null]`, "a row has 2 values, not 3"},
		{`[nil,null,null]`, "a row holds an unknown literal"},
		{`[2,nul]`, "a row holds an unknown literal"},
		{`["2",null,null]`, "column id holds a string, not a number"},
		{`[2,3,null]`, "column name holds a number, not a string"},
		{`[2,"x,null]`, "a row holds an unterminated string"},
		{`[2x,null,null]`, "a row holds a bad number"},
		{`[-,null,null]`, "a row holds a bad number"},
		{`[1.5,null,null]`, "a row holds a bad number"},
		{`[2 ,null,null]`, "a row holds a bad number"},
		{`[123456789012345678901,null,null]`, "a row holds a bad number"},
		{`[]`, "a row holds a bad number"},
		{`[2,"x"null,null]`, "a row lacks a comma between values"},
		{`[2,null,null]]`, "a row has data after its end"},
		{`[2,"\n",null]`, "a row holds a bad escape"},
		{`[2,"\u0041",null]`, "a row holds a bad escape"}, // the encoder escapes only control characters
		{`[2,"\u0100",null]`, "a row holds a bad escape"},
		{`[2,"\u00zz",null]`, "a row holds a bad escape"},
		{`[2,null,"\u00]`, "a row holds a bad escape"},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			text := reseal(t, replaceOnce(t, craftedText, "[2,null,null]\n", tt.row+"\n"))
			_, err := backup.Check(bytes.NewReader(gzipText(t, text)))
			want := damagedMessage("table a, line 4: " + tt.want)
			if err == nil || err.Error() != want || !errors.Is(err, backup.ErrDamaged) {
				t.Errorf("Check: %v\nwant:  %s", err, want)
			}
		})
	}
	// The values the encoder does write pass, escapes and extremes included.
	for _, row := range []string{
		`[-9223372036854775808,"\u0000\u001f\"\\ é","AAE="]`,
		`[18446744073709551615,"",""]`,
		`[0,null,null]`,
	} {
		text := reseal(t, replaceOnce(t, craftedText, "[2,null,null]\n", row+"\n"))
		if _, err := backup.Check(bytes.NewReader(gzipText(t, text))); err != nil {
			t.Errorf("%s: %v", row, err)
		}
	}
}
