package httpapi

import "strings"

// etagMatches reports whether an If-Match or If-None-Match header value names version:
// "*", or a comma-separated list of entity tags one of which is etag(version). Weak tags
// (W/"…") never match, as If-Match requires strong comparison.
func etagMatches(header string, version int) bool {
	want := etag(version)
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == want {
			return true
		}
	}
	return false
}
