package httpapi

import (
	"strconv"
	"strings"

	"github.com/alumnid/alumnid/internal/alumni"
)

// alumnusETag is the entity tag of a record as the caller sees it: the version, and for a
// partial view a code for the withheld fields, so that two callers who see different parts of
// the same version never share a tag.
func alumnusETag(a alumni.Alumnus) string {
	v := strconv.Itoa(a.Version)
	if key := alumni.ViewKey(a.Withheld); key != "" {
		v += "." + key
	}
	return `"` + v + `"`
}

// versionETag is the entity tag of a plainly versioned object (a user).
func versionETag(version int) string {
	return `"` + strconv.Itoa(version) + `"`
}

// ifMatch reports whether an If-Match header value names the entity tag want: "*", or a
// comma-separated list of entity tags one of which is want. It compares strongly (RFC 9110
// 13.1.1): a weak tag (W/"…") never matches.
func ifMatch(header, want string) bool {
	return matchETag(header, want, false)
}

// ifNoneMatch reports whether an If-None-Match header value names want. It compares weakly
// (RFC 9110 13.1.2): W/"3" matches "3".
func ifNoneMatch(header, want string) bool {
	return matchETag(header, want, true)
}

func matchETag(header, want string, weak bool) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if weak {
			tag = strings.TrimPrefix(tag, "W/")
		}
		if tag == "*" || tag == want {
			return true
		}
	}
	return false
}
