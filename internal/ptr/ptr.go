// Package ptr is the one set of pointer helpers: the generated code (sqlc's nullable columns,
// oapi-codegen's optional fields) speaks in pointers, the domain in values.
package ptr

// To returns a pointer to v.
func To[T any](v T) *T { return &v }

// NonZero returns a pointer to v, or nil when v is its type's zero value (an empty string
// becomes SQL NULL, or a field left out of an answer).
func NonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// Deref returns what p points to, or the zero value for nil.
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
