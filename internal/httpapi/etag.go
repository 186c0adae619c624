package httpapi

import "strings"

// ifMatch reports whether an If-Match header value names version: "*", or a comma-separated
// list of entity tags one of which is etag(version). It compares strongly (RFC 9110 13.1.1):
// a weak tag (W/"…") never matches.
func ifMatch(header string, version int) bool {
	return matchETag(header, version, false)
}

// ifNoneMatch reports whether an If-None-Match header value names version. It compares
// weakly (RFC 9110 13.1.2): W/"3" matches "3".
func ifNoneMatch(header string, version int) bool {
	return matchETag(header, version, true)
}

func matchETag(header string, version int, weak bool) bool {
	want := etag(version)
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
