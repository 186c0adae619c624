package idempotency

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/url"
)

// Fingerprint hashes what makes two requests the same request: the method, the route, the
// query and the body. A form (multipart/form-data) is hashed by its parts — each part's field
// name, file name and contents, in order — and not by its bytes, which differ with every
// boundary a client picks (browsers pick a new one for each retry).
type Fingerprint struct {
	h hash.Hash
}

// NewFingerprint starts the fingerprint of a request for method on route (the path template,
// e.g. /api/v1/alumni) with query.
func NewFingerprint(method, route string, query url.Values) *Fingerprint {
	f := &Fingerprint{h: sha256.New()}
	f.field(method)
	f.field(route)
	f.field(query.Encode()) // sorted by name
	return f
}

// field writes s with its length, so that no two sequences of fields hash alike.
func (f *Fingerprint) field(s string) {
	var n [binary.MaxVarintLen64]byte
	f.h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	f.h.Write([]byte(s))
}

// Body adds a body read whole (a JSON one).
func (f *Fingerprint) Body(b []byte) {
	f.field("body")
	f.field(string(b))
}

// Form reads a multipart/form-data body with boundary to its end and adds its parts. Parts
// are read as they arrive, a buffer at a time. It fails with the reader's error, or the
// multipart reader's for a body that is not a complete form.
func (f *Fingerprint) Form(r io.Reader, boundary string) error {
	mr := multipart.NewReader(r, boundary)
	buf := make([]byte, 32<<10)
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read form: %w", err)
		}
		contents := sha256.New()
		_, err = io.CopyBuffer(contents, part, buf)
		_ = part.Close()
		if err != nil {
			return fmt.Errorf("read form: %w", err)
		}
		f.field("part")
		f.field(part.FormName())
		f.field(part.FileName())
		f.field(string(contents.Sum(nil)))
	}
}

// Sum returns the fingerprint.
func (f *Fingerprint) Sum() []byte { return f.h.Sum(nil) }
