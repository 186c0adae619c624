package alumni

import (
	"context"
	"fmt"
	"strings"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Filter selects records for a list. Zero values mean "any". The degree fields must all hold
// for one and the same degree.
type Filter struct {
	GraduationYearFrom int    `json:"yf,omitempty"`
	GraduationYearTo   int    `json:"yt,omitempty"`
	Program            string `json:"pr,omitempty"`
	Faculty            string `json:"fa,omitempty"`
	Country            string `json:"co,omitempty"`
	Status             Status `json:"st,omitempty"`
	Tag                string `json:"tg,omitempty"`
	Deleted            bool   `json:"de,omitempty"`

	// Set by scope from the caller's role, never by the caller.
	consentOnly   bool // only alumni who consented to the directory
	directoryOnly bool // only alumni listed in the directory
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page struct {
	Items      []Alumnus
	NextCursor string
}

// Page sizes.
const (
	DefaultLimit = 25
	MaxLimit     = 200
)

// List returns the page of records matching f that follows after (a NextCursor of the same
// filter, or "" for the first page), in (last name, first name, id) order. It returns a
// Malformed error for a bad cursor or limit and an Invalid one for contradictory filters.
func (s *Store) List(ctx context.Context, p auth.Principal, f Filter, after string, limit int) (Page, error) {
	f.Country = strings.ToUpper(f.Country)
	if err := scope(p, &f); err != nil {
		return Page{}, err
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, derrors.New(derrors.Malformed, "The page size is out of range.",
			derrors.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxLimit)})
	}
	if f.GraduationYearFrom != 0 && f.GraduationYearTo != 0 && f.GraduationYearFrom > f.GraduationYearTo {
		return Page{}, derrors.New(derrors.Malformed, "The graduation year range is empty.",
			derrors.FieldError{Field: "graduationYearTo", Message: "must not be before graduationYearFrom"})
	}
	params := db.ListAlumniParams{
		Deleted:       f.Deleted,
		Country:       database.Optional(f.Country),
		Status:        database.Optional(string(f.Status)),
		Tag:           database.Optional(f.Tag),
		DegreeFilter:  f.Program != "" || f.Faculty != "" || f.GraduationYearFrom != 0 || f.GraduationYearTo != 0,
		Program:       database.Optional(f.Program),
		Faculty:       database.Optional(f.Faculty),
		YearFrom:      database.Optional(smallint(f.GraduationYearFrom)),
		YearTo:        database.Optional(smallint(f.GraduationYearTo)),
		ConsentOnly:   f.consentOnly,
		DirectoryOnly: f.directoryOnly,
		AfterSet:      after != "",
		Limit:         int32(limit + 1),
	}
	if after != "" {
		c, err := decodeCursor(after, f)
		if err != nil {
			return Page{}, err
		}
		params.AfterLastName, params.AfterFirstName, params.AfterPublicID = c.LastName, c.FirstName, c.PublicID
	}
	q := db.New(s.db)
	rows, err := q.ListAlumni(ctx, params)
	if err != nil {
		return Page{}, fmt.Errorf("list alumni: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	items, err := withChildren(ctx, q, rows)
	if err != nil {
		return Page{}, err
	}
	for i := range items {
		items[i] = Redact(p, items[i])
	}
	page := Page{Items: items}
	if more {
		page.NextCursor = encodeCursor(items[len(items)-1], f)
	}
	return page, nil
}
