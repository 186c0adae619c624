package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/derrors"
)

// Uploads (POST /api/v1/alumni/imports) are the one kind of request whose body may be large:
// they have their own size limit and deadline instead of the JSON ones, and their body is read
// by the handler as it arrives, never by the request validator (see enforceContract).

// Upload defaults.
const (
	DefaultImportMaxBytes = 100 << 20
	DefaultImportTimeout  = 10 * time.Minute
)

// isUpload reports whether c is a file upload.
func isUpload(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && c.Path() == "/api/v1/alumni/imports"
}

// uploadLimits gives uploads their size limit — refused at once when Content-Length says more,
// otherwise when the body grows past it — and the time to arrive: the server's read and write
// deadlines are moved for this one request. An upload answered before its body has been read
// to the end (refused, shed, unauthorized) closes its connection: otherwise net/http would read
// on, up to 256 KiB, before it sends the answer — waiting for as long as the client takes.
func uploadLimits(maxBytes int64, timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !isUpload(c) {
				return next(c)
			}
			req := c.Request()
			if req.ContentLength > maxBytes {
				c.Response().Header().Set(echo.HeaderConnection, "close")
				return errUploadTooLarge(maxBytes)
			}
			body := &uploadBody{ReadCloser: http.MaxBytesReader(c.Response(), req.Body, maxBytes), limit: maxBytes}
			req.Body = body
			c.Response().Before(func() {
				if !body.ended {
					c.Response().Header().Set(echo.HeaderConnection, "close")
				}
			})
			rc := http.NewResponseController(c.Response())
			deadline := time.Now().Add(timeout)
			// Not every ResponseWriter can (httptest's recorder cannot); the server's own can.
			_ = rc.SetReadDeadline(deadline)
			_ = rc.SetWriteDeadline(deadline.Add(time.Minute))
			return next(c)
		}
	}
}

func errUploadTooLarge(limit int64) error {
	size := fmt.Sprintf("%d bytes", limit)
	switch {
	case limit >= 1<<20:
		size = fmt.Sprintf("%d MiB", limit>>20)
	case limit >= 1<<10:
		size = fmt.Sprintf("%d KiB", limit>>10)
	}
	return derrors.New(derrors.TooLarge, "The upload is larger than the "+size+" this server accepts; split the file.",
		derrors.FieldError{Field: "file", Message: fmt.Sprintf("must be at most %d bytes", limit)})
}

// uploadBody reports a body over the limit as a domain error, which the import passes on, and
// whether the body was read to its end.
type uploadBody struct {
	io.ReadCloser
	limit int64
	ended bool
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.ended = b.ended || errors.Is(err, io.EOF)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = errUploadTooLarge(b.limit)
	}
	return n, err
}
