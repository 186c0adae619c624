package importer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Service receives uploads and reads import jobs. Uploads are staged in the database (not on
// local disk), so that any replica's worker can run them.
type Service struct {
	db     *sql.DB
	limits Limits
	now    func() time.Time
}

// NewService returns the import service on sqlDB with the upload limits (zero values: the
// defaults).
func NewService(sqlDB *sql.DB, limits Limits) *Service {
	return &Service{db: sqlDB, limits: limits.withDefaults(), now: time.Now}
}

// Modes of an import.
const (
	ModeDryRun = "dry_run"
	ModeApply  = "apply"
)

// Staging writes rows in multi-row INSERTs of up to stageRows rows (and the Inserter's byte
// budget).
const stageRows = 1000

// Receive reads an upload form — mode, mapping (before file) and file — staging the file's
// rows as they arrive, and queues the job. It returns the job; a Malformed error naming the
// form field for a form or file that cannot be used; a TooLarge error over the row limit (and
// whatever error the body's reader gives for its size limit); and the database's errors.
// Nothing stays behind when it fails.
func (s *Service) Receive(ctx context.Context, form *multipart.Reader) (_ Job, err error) {
	defer database.ClassifyErr(&err)
	var (
		mode    string
		mapping Mapping
		up      *upload
		seen    = map[string]bool{}
	)
	fail := func(err error) (Job, error) {
		if up != nil {
			up.discard(ctx)
		}
		return Job{}, err
	}
	for {
		part, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(readError(err))
		}
		name := printable(part.FormName())
		if name == "" {
			name = "(unnamed part)"
		}
		if seen[name] {
			_ = part.Close()
			return fail(formError(name, "is given twice"))
		}
		seen[name] = true
		switch name {
		case "mode":
			mode, err = readValue(part, 32)
			if err == nil && mode != ModeDryRun && mode != ModeApply {
				err = formError("mode", "must be dry_run or apply")
			}
		case "mapping":
			var raw string
			if seen["file"] {
				err = formError("mapping", "must come before file in the form")
			} else if raw, err = readValue(part, maxMappingBytes); err == nil {
				mapping, err = ParseMapping([]byte(raw))
			}
		case "file":
			up, err = s.stage(ctx, fileName(part.FileName()), part, mapping)
		default:
			err = formError(name, "is not a field of this form; send mode, mapping and file")
		}
		_ = part.Close()
		if err != nil {
			return fail(err)
		}
	}
	var missing []derrors.FieldError
	if !seen["mode"] {
		missing = append(missing, derrors.FieldError{Field: "mode", Message: "is required: dry_run or apply"})
	}
	if up == nil {
		missing = append(missing, derrors.FieldError{Field: "file", Message: "is required"})
	}
	if len(missing) > 0 {
		return fail(derrors.New(derrors.Malformed, "The form is incomplete.", missing...))
	}
	if err := up.queue(ctx, mode == ModeDryRun); err != nil {
		return fail(err)
	}
	return s.Get(ctx, up.publicID)
}

// readError turns a failure to read the form into a Malformed error, unless it is a domain
// error already (the body's size limit) or the request's context ended.
func readError(err error) error {
	if derrors.As(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return derrors.New(derrors.Malformed, "The body is not a complete multipart/form-data form.",
		derrors.FieldError{Field: "body", Message: "could not be read as multipart/form-data"})
}

func formError(field, message string) error {
	return derrors.New(derrors.Malformed, "The form does not match the API contract.", derrors.FieldError{Field: field, Message: message})
}

// readValue reads a small form field whole, failing over limit bytes or when it is not UTF-8.
func readValue(part *multipart.Part, limit int) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
	if err != nil {
		return "", readError(err)
	}
	if len(b) > limit {
		return "", formError(part.FormName(), fmt.Sprintf("is longer than %d bytes", limit))
	}
	if !utf8.Valid(b) {
		return "", formError(part.FormName(), "is not UTF-8 text")
	}
	return strings.TrimSpace(string(b)), nil
}

// fileName keeps the base name of an uploaded file's name, printable and at most 255
// characters.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = printable(name)
	if name == "" || name == "." || name == "/" {
		return "upload.csv"
	}
	return name
}

// printable drops what must not reach logs and answers: invalid UTF-8, control characters;
// and cuts the rest to 255 characters.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 255 {
		s = string(r[:255])
	}
	return strings.TrimSpace(s)
}

// upload is a file being staged.
type upload struct {
	s         *Service
	id        int64
	publicID  string
	name      string
	size      int64
	rows      int
	firstRow  int
	createdAt time.Time
}

// stage parses the file r and writes its rows to import_rows as they are read.
func (s *Service) stage(ctx context.Context, name string, r io.Reader, m Mapping) (*upload, error) {
	p, err := NewParser(r, m, s.limits)
	if err != nil {
		return nil, readError(err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	columns, err := json.Marshal(p.Columns())
	if err != nil {
		return nil, err
	}
	ignored, err := json.Marshal(nonNil(p.Ignored()))
	if err != nil {
		return nil, err
	}
	actor := audit.ActorFrom(ctx)
	up := &upload{s: s, publicID: database.NewPublicID(now), name: name, createdAt: now}
	res, err := db.New(s.db).CreateImportJob(ctx, db.CreateImportJobParams{
		PublicID: up.publicID, FileName: name, FieldDelimiter: string(p.Delimiter()),
		ColumnMap: columns, IgnoredColumns: ignored,
		ActorID: ptr.NonZero(actor.UserID), ActorRole: ptr.NonZero(actor.Role),
		RequestID: ptr.NonZero(actor.RequestID), ClientIp: ptr.NonZero(actor.ClientIP),
		CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("create import job: %w", err)
	}
	if up.id, err = res.LastInsertId(); err != nil {
		return nil, fmt.Errorf("read import job id: %w", err)
	}

	keys := keyColumns(p.Columns())
	staged := database.NewInserter(s.db, "import_rows", stageColumns).MaxRows(stageRows)
	touched := now
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			up.discard(ctx)
			return nil, readError(err)
		}
		if err := staged.Add(ctx, stageValues(up.id, row, keys)...); err != nil {
			up.discard(ctx)
			return nil, fmt.Errorf("stage import rows: %w", err)
		}
		up.rows++
		if up.firstRow == 0 {
			up.firstRow = row.No
		}
		if t := s.now().UTC(); t.Sub(touched) > 10*time.Second { // the upload is alive (see Purge)
			touched = t
			if err := db.New(s.db).TouchImportUpload(ctx, db.TouchImportUploadParams{UpdatedAt: t, ID: up.id}); err != nil {
				up.discard(ctx)
				return nil, fmt.Errorf("touch import job: %w", err)
			}
		}
	}
	if err := staged.Flush(ctx); err != nil {
		up.discard(ctx)
		return nil, fmt.Errorf("stage import rows: %w", err)
	}
	up.size = p.Size()
	return up, nil
}

// stageColumns are the columns of import_rows that stageValues fills, in order.
var stageColumns = []string{"import_id", "row_no", "line_no", "data", "student_key", "email_key", "problem", "problem_column"}

// keyIndexes are the positions of the key columns among a parser's columns (-1 for none).
type keyIndexes struct{ studentID, email int }

func keyColumns(columns []Column) keyIndexes {
	k := keyIndexes{-1, -1}
	for i, c := range columns {
		switch c.Field {
		case fieldStudentID:
			k.studentID = i
		case fieldEmail:
			k.email = i
		}
	}
	return k
}

// stageValues returns the values of stageColumns for row, and about how many bytes they take.
func stageValues(importID int64, row Row, k keyIndexes) []any {
	if row.Problem != nil {
		return []any{importID, row.No, row.Line, "[]", nil, nil,
			truncate(row.Problem.Message, 500), ptr.NonZero(row.Problem.Column)}
	}
	data, _ := json.Marshal(row.Cells) // strings only: cannot fail
	var sid, email string
	if k.studentID >= 0 {
		sid = row.Cells[k.studentID]
	}
	if k.email >= 0 {
		email = row.Cells[k.email]
	}
	sid, email = alumni.MatchKeys(sid, email)
	var sidKey, emailKey *string
	if sid != "" && alumni.StudentIDFits(sid) {
		sidKey = &sid
	}
	if email != "" && alumni.EmailFits(email) {
		emailKey = &email
	}
	return []any{importID, row.No, row.Line, string(data), sidKey, emailKey, nil, nil}
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// queue marks the rows whose key an earlier row has, hands the staged upload to the workers
// and records it in the audit trail.
func (up *upload) queue(ctx context.Context, dryRun bool) error {
	now := up.s.now().UTC().Truncate(time.Microsecond)
	mode := ModeApply
	if dryRun {
		mode = ModeDryRun
	}
	return database.Transact(ctx, up.s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		// Rows whose key an earlier row has are marked now, once, for the workers.
		if err := q.MarkRepeatedStudentIDs(ctx, db.MarkRepeatedStudentIDsParams{ImportID: up.id}); err != nil {
			return fmt.Errorf("mark repeated student ids: %w", err)
		}
		if err := q.MarkRepeatedEmails(ctx, db.MarkRepeatedEmailsParams{ImportID: up.id}); err != nil {
			return fmt.Errorf("mark repeated emails: %w", err)
		}
		n, err := q.QueueImportJob(ctx, db.QueueImportJobParams{
			DryRun: dryRun, FileSize: up.size, TotalRows: int32Of(up.rows), NextRow: int32Of(up.firstRow),
			UpdatedAt: now, ID: up.id,
		})
		if err != nil {
			return fmt.Errorf("queue import job: %w", err)
		}
		if n != 1 {
			return errors.New("queue import job: the upload's job is gone (purged while it was received?)")
		}
		return audit.Record(ctx, q, audit.Event{Action: "import.create", EntityType: "import", EntityID: up.publicID, Changes: []audit.Change{
			{Field: "fileName", After: up.name},
			{Field: "fileSize", After: up.size},
			{Field: "mode", After: mode},
			{Field: "totalRows", After: up.rows},
		}}, now)
	})
}

// int32Of narrows n to an INT column; the limits bound every count and row number that gets
// here, so clamping never changes one.
func int32Of(n int) int32 {
	return int32(max(min(n, math.MaxInt32), math.MinInt32)) //nolint:gosec // clamped
}

// discard deletes the upload's job and staged rows, also when ctx has ended.
func (up *upload) discard(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for {
		n, err := db.New(up.s.db).DeleteImportRows(ctx, up.id)
		if err != nil || n == 0 {
			break
		}
	}
	_ = db.New(up.s.db).DeleteImportJob(ctx, up.id) // on failure the purge deletes it later
}
