package backup_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/backup"
	"github.com/alumnid/alumnid/internal/database"
)

// partialSuffix ends the message of an error after which the database holds part of a backup.
const partialSuffix = " (the database now holds part of the backup: drop it and create it again)"

// section returns the lines of table name in text: its header, its rows and its end.
func section(t *testing.T, text, name string) (header string, rows []string, end string) {
	t.Helper()
	start := strings.Index(text, `{"table":"`+name+`",`)
	stop := strings.Index(text, `{"end":"`+name+`",`)
	if start < 0 || stop < start {
		t.Fatalf("no table %s", name)
	}
	lines := strings.Split(text[start:stop], "\n")
	end = text[stop : stop+strings.IndexByte(text[stop:], '\n')]
	return lines[0], lines[1 : len(lines)-1], end
}

// lineNo is the number of the line of text that is line.
func lineNo(t *testing.T, text, line string) int {
	t.Helper()
	i := strings.Index(text, "\n"+line+"\n")
	if i < 0 {
		t.Fatalf("no line %s", line)
	}
	return strings.Count(text[:i+1], "\n") + 1
}

// schemaState is the schema_migrations row of the database of dsn, or "none".
func schemaState(t *testing.T, dsn string) string {
	t.Helper()
	sqlDB, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var version int
	var dirty bool
	err = sqlDB.QueryRowContext(context.Background(), "SELECT version, dirty FROM schema_migrations").Scan(&version, &dirty)
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) && myErr.Number == 1146 { // no such table
		return "none"
	}
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("version %d dirty %v", version, dirty)
}

// TestRestoreRefusesHostileFiles restores files that are damaged, or crafted to pass the
// checksums (resealed), or that change between the two reads, into fresh databases, and checks
// the error and what it left: nothing at all when the file is refused before step 2, the
// target as it was when the target is refused, the migrated schema without a row when the
// tables differ, and the "partial" message when the load began.
func TestRestoreRefusesHostileFiles(t *testing.T) {
	t.Parallel()
	src := seeded(t, 3)
	path := filepath.Join(t.TempDir(), "a.backup.gz")
	res := backupTo(t, src, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	good := gunzipText(t, data)
	v := database.ExpectedVersion
	if res.Manifest.SchemaVersion != v {
		t.Fatalf("the backup has schema version %d, want %d", res.Manifest.SchemaVersion, v)
	}
	var names []string
	for _, ts := range res.Manifest.Tables {
		names = append(names, ts.Name)
	}

	// The rows the cases edit, found rather than assumed.
	_, tags, _ := section(t, good, "alumni_tags")
	lastTag := tags[len(tags)-1] // [alumnus_id,"tag"]
	tagID := lastTag[1:strings.IndexByte(lastTag, ',')]
	_, tokens, _ := section(t, good, "refresh_tokens")
	_, throttle, _ := section(t, good, "login_throttle")
	alumniHeader, alumni, _ := section(t, good, "alumni")
	var hdr backup.TableHeader
	if err := json.Unmarshal([]byte(alumniHeader), &hdr); err != nil {
		t.Fatal(err)
	}
	email := slices.IndexFunc(hdr.Columns, func(c backup.Column) bool { return c.Name == "email" })
	emailOf := func(row string) string {
		var vals []any
		if err := json.Unmarshal([]byte(row), &vals); err != nil {
			t.Fatal(err)
		}
		s, ok := vals[email].(string)
		if !ok {
			t.Fatalf("row %s has no email", row)
		}
		return s
	}

	extraTable := `{"table":"zz_extra","columns":[{"name":"id","kind":"int","type":"int(11)"}],"primaryKey":["id"]}` + "\n[1]\n" + `{"end":"zz_extra"}` + "\n"
	withExtra := reseal(t, replaceOnce(t, good, `{"manifest":`, extraTable+`{"manifest":`))
	settingsHeader, settingsRows, settingsEnd := section(t, good, "settings")
	withoutSettings := reseal(t, replaceOnce(t, good, settingsHeader+"\n"+strings.Join(settingsRows, "\n")+"\n"+settingsEnd+"\n", ""))
	tagsHeader, _, tagsEnd := section(t, good, "alumni_tags")
	var idOnly []string
	for _, r := range tags {
		idOnly = append(idOnly, r[:strings.IndexByte(r, ',')]+"]")
	}
	withoutTagColumn := reseal(t, replaceOnce(t, good, tagsHeader+"\n"+strings.Join(tags, "\n")+"\n"+tagsEnd,
		`{"table":"alumni_tags","columns":[{"name":"alumnus_id","kind":"int","type":"bigint(20)"}],"primaryKey":["alumnus_id"]}`+"\n"+strings.Join(idOnly, "\n")+"\n"+tagsEnd))
	editedTag := strings.TrimSuffix(lastTag, `"]`) + `x"]`
	tagsEdited := reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n"+editedTag+"\n"))
	tagsTampered := replaceOnce(t, good, "\n"+lastTag+"\n", "\n"+editedTag+"\n")
	edited := append(slices.Clone(tags[:len(tags)-1]), editedTag)
	overflow := "[99999999999999999999" + lastTag[strings.IndexByte(lastTag, ','):]
	badBase64 := `["not base64!"` + tokens[0][strings.IndexByte(tokens[0], ','):]
	headerLine := good[:strings.IndexByte(good, '\n')]
	editHeader := func(old, new string) string {
		return reseal(t, replaceOnce(t, good, headerLine, replaceOnce(t, headerLine, old, new)))
	}
	withSchema := func(version uint) string {
		return editHeader(fmt.Sprintf(`"schemaVersion":%d,`, v), fmt.Sprintf(`"schemaVersion":%d,`, version))
	}

	type target int
	const (
		emptyDB    target = iota // a database without a table
		migratedDB               // migrated to the current version, without a row
		dirtyDB                  // migrated, its schema_migrations row marked dirty
	)
	type outcome int
	const (
		untouched outcome = iota // the target is as it was
		noRows                   // migrated to the backup's version, every table empty
		partial                  // the error says the database holds part of the backup
		loaded                   // every table holds as many rows as the manifest says
	)
	tests := []struct {
		name      string
		target    target
		text      string   // the file at the check
		reread    string   // the file at the load, when it changed in between
		openErr   error    // the first open fails
		rereadErr error    // the second open fails
		want      string   // the whole message, without the partial suffix; a prefix when mysqlErr is set
		mysqlErr  []uint16 // the server's error number the error wraps: one of these
		damaged   bool
		outcome   outcome
	}{
		{name: "unreadable file", openErr: fs.ErrPermission, want: fs.ErrPermission.Error()},
		{name: "newer format version", text: editHeader(`"version":1,`, `"version":2,`),
			want: "the backup has format version 2; this alumnid reads version 1"},
		{name: "newer schema version", text: withSchema(v + 1),
			want: fmt.Sprintf("the backup has schema version %d; this alumnid knows only up to %d: restore with a newer alumnid", v+1, v)},
		{name: "row with too few columns", text: reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n["+tagID+"]\n")), damaged: true,
			want: damagedMessage(fmt.Sprintf("table alumni_tags, line %d: a row has 1 values, not 2", lineNo(t, good, lastTag)))},
		{name: "row with too many columns", text: reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n"+strings.TrimSuffix(lastTag, "]")+",null]\n")), damaged: true,
			want: damagedMessage(fmt.Sprintf("table alumni_tags, line %d: a row has more than 2 values", lineNo(t, good, lastTag)))},
		{name: "row edited, checksums not", text: tagsTampered, damaged: true,
			want: damagedMessage(fmt.Sprintf("table alumni_tags: %d rows with checksum %.12s…, the file says %d rows with %.12s…", len(tags), rowSum(edited...), len(tags), rowSum(tags...)))},
		{name: "dirty target", target: dirtyDB, text: good, want: fmt.Sprintf("%v: its schema (version %d) is dirty", backup.ErrNotEmpty, v)},
		{name: "target newer than the backup", target: migratedDB, text: withSchema(v - 1),
			want: fmt.Sprintf("%v: its schema is at version %d, newer than the backup's %d; restore into a new database", backup.ErrNotEmpty, v, v-1)},
		{name: "table the schema does not know", text: withExtra, outcome: noRows,
			want: fmt.Sprintf("the schema at version %d has tables %v, the backup %v", v, names, append(slices.Clone(names), "zz_extra"))},
		{name: "table missing", text: withoutSettings, outcome: noRows,
			want: fmt.Sprintf("the schema at version %d has tables %v, the backup %v", v, names, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "settings" }))},
		{name: "column renamed", text: reseal(t, replaceOnce(t, good, `{"name":"tag","kind":"text"`, `{"name":"label","kind":"text"`)), outcome: partial,
			want: fmt.Sprintf("table alumni_tags: the backup's columns differ from the schema's at version %d", v)},
		{name: "column of another kind", text: reseal(t, replaceOnce(t, good, `{"table":"alumni_tags","columns":[{"name":"alumnus_id","kind":"int"`, `{"table":"alumni_tags","columns":[{"name":"alumnus_id","kind":"decimal"`)),
			damaged: true, want: damagedMessage(fmt.Sprintf("table alumni_tags, line %d: column alumnus_id holds a number, not a string", lineNo(t, good, tags[0])))},
		{name: "integer beyond 64 bits", text: reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n"+overflow+"\n")), outcome: partial, damaged: true,
			want: damagedMessage(fmt.Sprintf("table alumni_tags, line %d, column alumnus_id: not a 64-bit integer: 99999999999999999999", lineNo(t, good, lastTag)))},
		{name: "bytes not base64", text: reseal(t, replaceOnce(t, good, "\n"+tokens[0]+"\n", "\n"+badBase64+"\n")), outcome: partial, damaged: true,
			want: damagedMessage(fmt.Sprintf("table refresh_tokens, line %d, column token_hash: bad base64: illegal base64 data at input byte 3", lineNo(t, good, tokens[0])))},
		{name: "integer beyond BIGINT", text: reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n[18446744073709551615"+lastTag[len(tagID)+1:]+"\n")),
			outcome: partial, mysqlErr: []uint16{1264}, want: "insert into alumni_tags: "},
		{name: "column dropped", text: withoutTagColumn, outcome: partial,
			want: fmt.Sprintf("table alumni_tags: the backup's columns differ from the schema's at version %d", v)},
		{name: "integer beyond the column", text: reseal(t, replaceOnce(t, good, "\n"+throttle[0]+"\n", "\n"+strings.Replace(throttle[0], ",2147483647]", ",2147483648]", 1)+"\n")),
			outcome: partial, mysqlErr: []uint16{1264}, want: "insert into login_throttle: "},
		{name: "duplicate primary key", text: reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n"+lastTag+"\n"+lastTag+"\n")),
			// MariaDB's bulk load into an empty table (foreign key and unique checks off) reports
			// the duplicate as error 1180 at the end of the statement; MySQL as 1062.
			outcome: partial, mysqlErr: []uint16{1062, 1180}, want: "insert into alumni_tags: "},
		{name: "duplicate in a deferred unique index", text: reseal(t, replaceOnce(t, good, "\n"+alumni[1]+"\n", "\n"+strings.Replace(alumni[1], `"`+emailOf(alumni[1])+`"`, `"`+emailOf(alumni[0])+`"`, 1)+"\n")),
			outcome: partial, mysqlErr: []uint16{1062}, want: "build the indexes of alumni: "},
		{name: "unreadable at the load", text: good, rereadErr: fs.ErrNotExist, outcome: partial, want: fs.ErrNotExist.Error()},
		{name: "not a backup at the load", text: good, reread: "hello\n", outcome: partial, damaged: true,
			want: damagedMessage("the first line is not an alumnid backup header")},
		{name: "bad row at the load", text: good, reread: reseal(t, replaceOnce(t, good, "\n"+lastTag+"\n", "\n["+tagID+"]\n")), outcome: partial, damaged: true,
			want: damagedMessage(fmt.Sprintf("table alumni_tags, line %d: a row has 1 values, not 2", lineNo(t, good, lastTag)))},
		{name: "damaged at the load", text: good, reread: tagsTampered, outcome: partial, damaged: true,
			want: damagedMessage(fmt.Sprintf("table alumni_tags: %d rows with checksum %.12s…, the file says %d rows with %.12s…", len(tags), rowSum(edited...), len(tags), rowSum(tags...)))},
		{name: "another table at the load", text: good, reread: withExtra, outcome: partial, damaged: true,
			want: damagedMessage("table zz_extra is not the next table of the schema")},
		{name: "other rows at the load", text: good, reread: tagsEdited, outcome: loaded,
			want: fmt.Sprintf("after the restore table alumni_tags has %d rows with checksum %.12s…, the backup %d rows with %.12s…", len(tags), rowSum(edited...), len(tags), rowSum(tags...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dst string
			switch tt.target {
			case emptyDB:
				dst = apitest.NewEmptyDatabase(t)
			case migratedDB, dirtyDB:
				dst = apitest.NewDatabase(t)
			}
			if tt.target == dirtyDB {
				sqlDB, err := sql.Open("mysql", dst)
				if err != nil {
					t.Fatal(err)
				}
				_, err = sqlDB.ExecContext(context.Background(), "UPDATE schema_migrations SET dirty = 1")
				_ = sqlDB.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			beforeSchema, before := schemaState(t, dst), state(t, dst)

			opens := 0
			open := func() (io.ReadCloser, error) {
				opens++
				switch {
				case opens == 1 && tt.openErr != nil:
					return nil, tt.openErr
				case opens > 1 && tt.rereadErr != nil:
					return nil, tt.rereadErr
				case opens > 1 && tt.reread != "":
					return io.NopCloser(strings.NewReader(string(gzipText(t, tt.reread)))), nil
				}
				return io.NopCloser(strings.NewReader(string(gzipText(t, tt.text)))), nil
			}
			m, err := backup.Restore(context.Background(), dst, open, backup.RestoreOptions{TxRows: 2, Workers: 5})
			if err == nil {
				t.Fatalf("Restore succeeded: %+v", m)
			}
			msg := err.Error()
			if tt.outcome == partial {
				if !strings.HasSuffix(msg, partialSuffix) {
					t.Errorf("Restore: %s\ndoes not end with %q", msg, partialSuffix)
				}
				msg = strings.TrimSuffix(msg, partialSuffix)
			}
			if tt.mysqlErr != nil {
				var myErr *mysql.MySQLError
				if !strings.HasPrefix(msg, tt.want) || !errors.As(err, &myErr) || !slices.Contains(tt.mysqlErr, myErr.Number) {
					t.Errorf("Restore: %s\nwant:    %s… wrapping MySQL error %v", msg, tt.want, tt.mysqlErr)
				}
			} else if msg != tt.want {
				t.Errorf("Restore: %s\nwant:    %s", msg, tt.want)
			}
			if errors.Is(err, backup.ErrDamaged) != tt.damaged {
				t.Errorf("errors.Is(err, ErrDamaged) = %v, want %v", !tt.damaged, tt.damaged)
			}
			wantNotEmpty := tt.target != emptyDB
			if errors.Is(err, backup.ErrNotEmpty) != wantNotEmpty {
				t.Errorf("errors.Is(err, ErrNotEmpty) = %v, want %v", !wantNotEmpty, wantNotEmpty)
			}
			for _, target := range []error{tt.openErr, tt.rereadErr} {
				if target != nil && !errors.Is(err, target) {
					t.Errorf("the error does not wrap %v", target)
				}
			}

			switch tt.outcome {
			case untouched:
				if got := schemaState(t, dst); got != beforeSchema {
					t.Errorf("schema_migrations: %s, before the restore %s", got, beforeSchema)
				}
				if diff := cmp.Diff(before, state(t, dst)); diff != "" {
					t.Errorf("the refused restore changed the database (-before +after):\n%s", diff)
				}
			case noRows:
				if got, want := schemaState(t, dst), fmt.Sprintf("version %d dirty false", v); got != want {
					t.Errorf("schema_migrations: %s, want %s", got, want)
				}
				after := state(t, dst)
				if len(after) != len(names) {
					t.Errorf("%d tables, want the schema's %d", len(after), len(names))
				}
				for name, s := range after {
					if s.Rows != 0 {
						t.Errorf("table %s holds %d rows, want none", name, s.Rows)
					}
				}
			case loaded:
				after := state(t, dst)
				for _, ts := range res.Manifest.Tables {
					if after[ts.Name].Rows != ts.Rows {
						t.Errorf("table %s holds %d rows, want %d", ts.Name, after[ts.Name].Rows, ts.Rows)
					}
				}
			}
		})
	}
}

// TestCompare: Compare accepts the manifest of a backup of the same rows and otherwise names
// what differs: the list of tables, or the first table whose rows differ.
func TestCompare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlDB, err := backup.Open(ctx, apitest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	m, err := backup.Write(ctx, sqlDB, io.Discard, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := backup.Compare(ctx, sqlDB, m); err != nil {
		t.Fatalf("Compare with the database's own manifest: %v", err)
	}
	var names []string
	for _, ts := range m.Tables {
		names = append(names, ts.Name)
	}
	fewer := m
	fewer.Tables = m.Tables[1:]
	more := m
	more.Tables = slices.Clone(m.Tables)
	more.Tables[2].Rows = 1
	empty := rowSum()
	tests := []struct {
		name string
		m    backup.Manifest
		want string
	}{
		{"a table fewer", fewer, fmt.Sprintf("the schema at version %d has tables %v, the backup %v", m.SchemaVersion, names, names[1:])},
		{"a row more", more, fmt.Sprintf("after the restore table %s has 0 rows with checksum %.12s…, the backup 1 rows with %.12s…", names[2], empty, empty)},
	}
	for _, tt := range tests {
		if err := backup.Compare(ctx, sqlDB, tt.m); err == nil || err.Error() != tt.want {
			t.Errorf("%s: Compare: %v\nwant:             %s", tt.name, err, tt.want)
		}
	}
}
