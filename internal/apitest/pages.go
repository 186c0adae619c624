package apitest

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// Walk follows nextCursor through the list at path (with the extra query, "" for none) in
// pages of limit, and returns every item, the number of pages and the raw bodies. It fails the
// test on a non-200 answer, a page larger than limit, a short page that is not the last, or
// pages that do not end.
func Walk[T any](t testing.TB, c *Client, path, query string, limit int) (items []T, pages int, raw []byte) {
	t.Helper()
	cursor := ""
	for range 1000 {
		q := fmt.Sprintf("%s?limit=%d", path, limit)
		if query != "" {
			q += "&" + query
		}
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := c.Get(q, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, resp.Status, resp.Body)
		}
		raw = append(raw, resp.Body...)
		var page struct {
			Items      []T     `json:"items"`
			NextCursor *string `json:"nextCursor"`
		}
		resp.JSON(t, &page)
		if len(page.Items) > limit {
			t.Fatalf("%s: %d items for limit %d", q, len(page.Items), limit)
		}
		items = append(items, page.Items...)
		pages++
		if page.NextCursor == nil {
			return items, pages, raw
		}
		if len(page.Items) != limit {
			t.Fatalf("%s: a page with a next cursor has %d items, want %d", q, len(page.Items), limit)
		}
		cursor = *page.NextCursor
	}
	t.Fatalf("the pages of %s do not end", path)
	return nil, 0, nil
}
