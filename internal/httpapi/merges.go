package httpapi

import (
	"context"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/ptr"
)

// MergeAlumni merges the record named in the body into the one in the path, provided both
// are still at the versions named by If-Match and absorbedETag; the body's fields are a merge
// patch over the united record.
func (h alumniHandlers) MergeAlumni(ctx context.Context, req api.MergeAlumniRequestObject) (api.MergeAlumniResponseObject, error) {
	if req.Params.IfMatch == nil {
		return nil, errIfMatchRequired
	}
	in := alumni.MergeInput{
		SurvivorID:      req.AlumnusId,
		AbsorbedID:      req.Body.Absorb,
		SurvivorMatches: func(cur alumni.Alumnus) bool { return ifMatch(*req.Params.IfMatch, alumnusETag(cur)) },
		AbsorbedMatches: func(cur alumni.Alumnus) bool { return ifMatch(req.Body.AbsorbedETag, alumnusETag(cur)) },
	}
	if req.Body.Fields != nil {
		patch := *req.Body.Fields
		in.Edit = func(united alumni.Alumnus) (alumni.Fields, error) {
			f, err := mergePatch(toAPIInput(united), patch)
			if err != nil {
				return alumni.Fields{}, err
			}
			return toFields(f), nil
		}
	}
	m, a, err := h.store.Merge(ctx, principal(ctx), in)
	if err != nil {
		return nil, err
	}
	tag := alumnusETag(a)
	return api.MergeAlumni200JSONResponse{Body: toAPIMergeResult(m, a), Headers: api.MergeAlumni200ResponseHeaders{ETag: &tag}}, nil
}

// UndoMerge undoes a merge while its survivor is as the merge left it.
func (h alumniHandlers) UndoMerge(ctx context.Context, req api.UndoMergeRequestObject) (api.UndoMergeResponseObject, error) {
	m, a, err := h.store.UndoMerge(ctx, principal(ctx), req.MergeId)
	if err != nil {
		return nil, err
	}
	tag := alumnusETag(a)
	return api.UndoMerge200JSONResponse{Body: toAPIMergeResult(m, a), Headers: api.UndoMerge200ResponseHeaders{ETag: &tag}}, nil
}

func toAPIMergeResult(m alumni.Merge, survivor alumni.Alumnus) api.MergeResult {
	return api.MergeResult{
		Merge: api.Merge{Id: m.ID, SurvivorId: m.SurvivorID, AbsorbedId: m.AbsorbedID, MergedAt: m.MergedAt,
			MergedBy: ptr.NonZero(m.MergedBy), UndoneAt: m.UndoneAt},
		Survivor: toAPIAlumnus(survivor),
	}
}
