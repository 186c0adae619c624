package listing

import (
	"strings"

	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// Sort is the order of a list (the contract's AlumniSort).
type Sort string

// The orders a list can have; a leading "-" reverses every key. Each ends with the names and
// the public id, so that it is total.
const (
	SortRelevance          Sort = "relevance"
	SortLastName           Sort = "lastName"
	SortLastNameDesc       Sort = "-lastName"
	SortGraduationYear     Sort = "graduationYear"
	SortGraduationYearDesc Sort = "-graduationYear"
	SortUpdatedAt          Sort = "updatedAt"
	SortUpdatedAtDesc      Sort = "-updatedAt"
)

// valid reports whether s is one of the orders above.
func (s Sort) valid() bool {
	switch s {
	case SortRelevance, SortLastName, SortLastNameDesc, SortGraduationYear, SortGraduationYearDesc, SortUpdatedAt, SortUpdatedAtDesc:
		return true
	}
	return false
}

// index is the index's form of the resolved order s.
func (s Sort) index() (searchindex.Order, bool) {
	desc := strings.HasPrefix(string(s), "-")
	switch strings.TrimPrefix(string(s), "-") {
	case "relevance":
		return searchindex.ByRelevance, false
	case "graduationYear":
		return searchindex.ByYear, desc
	case "updatedAt":
		return searchindex.ByUpdated, desc
	}
	return searchindex.ByName, desc
}

// resolveSort returns the order of a list of the prepared filter f: sort, or the default when
// it is empty (relevance with a search, else last name). It returns a Malformed error for an
// unknown order and for relevance without a search.
func resolveSort(sort Sort, f Filter) (Sort, error) {
	switch {
	case sort == "" && f.Q != "":
		return SortRelevance, nil
	case sort == "":
		return SortLastName, nil
	case !sort.valid():
		return "", derrors.New(derrors.Malformed, "Unknown order.",
			derrors.FieldError{Field: "sort", Message: "is not one of the orders a list has"})
	case sort == SortRelevance && f.Q == "":
		return "", derrors.New(derrors.Malformed, "Relevance order needs a search.",
			derrors.FieldError{Field: "sort", Message: "relevance is only allowed with q"})
	}
	return sort, nil
}
