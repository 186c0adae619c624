package alumni

import (
	"context"
	"fmt"
	"strings"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
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

// position is the keyset position after the last record of a page.
type position struct {
	LastName  string `json:"l"`
	FirstName string `json:"f"`
	PublicID  string `json:"p"`
}

// List returns the page of records matching f that follows after (a NextCursor of the same
// filter, or "" for the first page), in (last name, first name, id) order. It returns a
// Malformed error for a bad cursor or limit and an Invalid one for contradictory filters.
func (s *Store) List(ctx context.Context, p auth.Principal, f Filter, after string, limit int) (Page, error) {
	f.Country = strings.ToUpper(f.Country)
	if err := scope(p, &f); err != nil {
		return Page{}, err
	}
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
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
		Limit:         page.FetchLimit(limit),
	}
	if after != "" {
		var c position
		if err := page.Decode(after, f, &c); err != nil {
			return Page{}, err
		}
		if c.PublicID == "" {
			return Page{}, page.Invalid()
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
	out := Page{Items: items}
	if more {
		last := items[len(items)-1]
		out.NextCursor = page.Encode(position{LastName: last.LastName, FirstName: last.FirstName, PublicID: last.ID}, f)
	}
	return out, nil
}
