package httpapi

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/alumnid/alumnid/internal/ptr"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/listing"
)

// alumniHandlers implements the alumni operations of the contract.
type alumniHandlers struct {
	store      *alumni.Store
	reader     *listing.Reader
	duplicates duplicatesHandlers
}

// principal returns the caller; the middleware has authenticated every operation that needs
// it, so the zero Principal (no role, allowed nothing) only reaches public operations.
func principal(ctx context.Context) auth.Principal {
	p, _ := auth.PrincipalFrom(ctx)
	return p
}

func (h alumniHandlers) ListAlumni(ctx context.Context, req api.ListAlumniRequestObject) (api.ListAlumniResponseObject, error) {
	res, err := h.reader.List(ctx, principal(ctx), toFilter(req.Params), listing.ListOptions{
		Sort:         listing.Sort(ptr.Deref(req.Params.Sort)),
		After:        ptr.Deref(req.Params.Cursor),
		Limit:        pageSize(req.Params.Limit),
		IncludeTotal: ptr.Deref(req.Params.IncludeTotal),
	})
	if err != nil {
		return nil, err
	}
	out := api.ListAlumni200JSONResponse{Items: make([]api.Alumnus, len(res.Items))}
	for i, a := range res.Items {
		out.Items[i] = toAPIAlumnus(a)
	}
	out.NextCursor = ptr.NonZero(res.NextCursor)
	if res.Total != nil {
		t := toAPITotal(*res.Total)
		out.Total = &t
	}
	return out, nil
}

func (h alumniHandlers) GetAlumniFacets(ctx context.Context, req api.GetAlumniFacetsRequestObject) (api.GetAlumniFacetsResponseObject, error) {
	f, err := h.reader.Facets(ctx, principal(ctx), facetFilter(req.Params))
	if err != nil {
		return nil, err
	}
	out := api.GetAlumniFacets200JSONResponse{
		Total:          toAPITotal(f.Total),
		GraduationYear: toAPIBuckets(f.GraduationYear),
		Country:        toAPIBuckets(f.Country),
		Program:        toAPIBuckets(f.Program),
		Industry:       toAPIBuckets(f.Industry),
	}
	if f.Status != nil {
		st := toAPIBuckets(f.Status)
		out.Status = &st
	}
	return out, nil
}

func (h alumniHandlers) CreateAlumnus(ctx context.Context, req api.CreateAlumnusRequestObject) (api.CreateAlumnusResponseObject, error) {
	a, err := h.store.Create(ctx, alumni.NewRecord{Fields: toFields(*req.Body), Consent: req.Body.DirectoryConsent})
	if err != nil {
		return nil, err
	}
	location := "/api/v1/alumni/" + a.ID
	tag := alumnusETag(a)
	return api.CreateAlumnus201JSONResponse{
		Body:    toAPIAlumnus(a),
		Headers: api.CreateAlumnus201ResponseHeaders{ETag: &tag, Location: &location, Link: h.duplicates.likelyLink(ctx, a.ID)},
	}, nil
}

func (h alumniHandlers) GetAlumnus(ctx context.Context, req api.GetAlumnusRequestObject) (api.GetAlumnusResponseObject, error) {
	a, err := h.store.Get(ctx, principal(ctx), req.AlumnusId)
	if err != nil {
		return nil, err
	}
	tag := alumnusETag(a)
	if req.Params.IfNoneMatch != nil && ifNoneMatch(*req.Params.IfNoneMatch, tag) {
		return api.GetAlumnus304Response{Headers: api.GetAlumnus304ResponseHeaders{ETag: &tag}}, nil
	}
	return api.GetAlumnus200JSONResponse{Body: toAPIAlumnus(a), Headers: api.GetAlumnus200ResponseHeaders{ETag: &tag}}, nil
}

var errIfMatchRequired = derrors.New(derrors.PreconditionRequired,
	"Send the record's ETag in If-Match, so that a change made meanwhile by someone else is not overwritten.")

// UpdateAlumnus applies the merge patch to the record as the caller sees it, provided it is
// still the version named by If-Match. Alumni may patch only the fields they may edit.
func (h alumniHandlers) UpdateAlumnus(ctx context.Context, req api.UpdateAlumnusRequestObject) (api.UpdateAlumnusResponseObject, error) {
	if req.Params.IfMatch == nil {
		return nil, errIfMatchRequired
	}
	p := principal(ctx)
	if !p.Role.Office() {
		if err := alumni.CheckSelfPatch(patchKeys(*req.Body)); err != nil {
			return nil, err
		}
	}
	matches := func(cur alumni.Alumnus) bool { return ifMatch(*req.Params.IfMatch, alumnusETag(cur)) }
	edit := func(cur alumni.Alumnus) (alumni.Fields, error) {
		in, err := mergePatch(toAPIInput(cur), *req.Body)
		if err != nil {
			return alumni.Fields{}, err
		}
		return toFields(in), nil
	}
	a, err := h.store.Update(ctx, p, req.AlumnusId, matches, edit)
	if err != nil {
		return nil, err
	}
	tag := alumnusETag(a)
	return api.UpdateAlumnus200JSONResponse{Body: toAPIAlumnus(a), Headers: api.UpdateAlumnus200ResponseHeaders{ETag: &tag}}, nil
}

// patchKeys returns the top-level property names of a merge patch (the contract has already
// checked that it is an object).
func patchKeys(patch json.RawMessage) []string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(patch, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// mergePatch applies an RFC 7396 merge patch to base. The contract has already checked the
// patch's shape; a result that is not an AlumnusInput is reported as Malformed.
func mergePatch(base api.AlumnusInput, patch json.RawMessage) (api.AlumnusInput, error) {
	doc, err := json.Marshal(base)
	if err != nil {
		return api.AlumnusInput{}, err
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return api.AlumnusInput{}, derrors.New(derrors.Malformed, "The body is not a JSON merge patch.",
			derrors.FieldError{Field: "body", Message: "must be a JSON object"})
	}
	var out api.AlumnusInput
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return api.AlumnusInput{}, derrors.New(derrors.Malformed, "The patched record does not match the contract.",
			derrors.FieldError{Field: "body", Message: "does not produce a valid record"})
	}
	return out, nil
}

func (h alumniHandlers) DeleteAlumnus(ctx context.Context, req api.DeleteAlumnusRequestObject) (api.DeleteAlumnusResponseObject, error) {
	var matches func(version int) bool // If-Match is optional on DELETE
	if req.Params.IfMatch != nil {
		matches = func(version int) bool { return ifMatch(*req.Params.IfMatch, versionETag(version)) }
	}
	if err := h.store.Delete(ctx, req.AlumnusId, matches); err != nil {
		return nil, err
	}
	return api.DeleteAlumnus204Response{}, nil
}

func (h alumniHandlers) RestoreAlumnus(ctx context.Context, req api.RestoreAlumnusRequestObject) (api.RestoreAlumnusResponseObject, error) {
	a, err := h.store.Restore(ctx, req.AlumnusId)
	if err != nil {
		return nil, err
	}
	tag := alumnusETag(a)
	return api.RestoreAlumnus200JSONResponse{Body: toAPIAlumnus(a), Headers: api.RestoreAlumnus200ResponseHeaders{ETag: &tag}}, nil
}

func (h alumniHandlers) ListConsentChanges(ctx context.Context, req api.ListConsentChangesRequestObject) (api.ListConsentChangesResponseObject, error) {
	res, err := h.store.ConsentHistory(ctx, principal(ctx), req.AlumnusId, ptr.Deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	return api.ListConsentChanges200JSONResponse{Items: toAPIConsentChanges(res.Items), NextCursor: ptr.NonZero(res.NextCursor)}, nil
}
