package httpapi

import (
	"context"
	"log/slog"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/duplicates"
	"github.com/alumnid/alumnid/internal/ptr"
)

// duplicatesHandlers serve the queue of likely duplicates and the likely duplicates of one
// record (internal/duplicates).
type duplicatesHandlers struct {
	duplicates *duplicates.Store
	log        *slog.Logger
}

func (h duplicatesHandlers) ListDuplicatePairs(ctx context.Context, req api.ListDuplicatePairsRequestObject) (api.ListDuplicatePairsResponseObject, error) {
	status := duplicates.Open
	if req.Params.Status != nil {
		status = duplicates.Status(*req.Params.Status)
	}
	got, err := h.duplicates.List(ctx, principal(ctx), status, pageSize(req.Params.Limit), ptr.Deref(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return api.ListDuplicatePairs200JSONResponse{Items: toAPIPairs(got.Items), NextCursor: ptr.NonZero(got.Next)}, nil
}

func (h duplicatesHandlers) ListAlumnusDuplicates(ctx context.Context, req api.ListAlumnusDuplicatesRequestObject) (api.ListAlumnusDuplicatesResponseObject, error) {
	pairs, err := h.duplicates.Of(ctx, principal(ctx), req.AlumnusId)
	if err != nil {
		return nil, err
	}
	return api.ListAlumnusDuplicates200JSONResponse{Items: toAPIPairs(pairs)}, nil
}

func (h duplicatesHandlers) DismissDuplicatePair(ctx context.Context, req api.DismissDuplicatePairRequestObject) (api.DismissDuplicatePairResponseObject, error) {
	pair, err := h.duplicates.Decide(ctx, principal(ctx), req.PairId, duplicates.Dismissed)
	if err != nil {
		return nil, err
	}
	return api.DismissDuplicatePair200JSONResponse(toAPIPair(pair)), nil
}

func (h duplicatesHandlers) ReopenDuplicatePair(ctx context.Context, req api.ReopenDuplicatePairRequestObject) (api.ReopenDuplicatePairResponseObject, error) {
	pair, err := h.duplicates.Decide(ctx, principal(ctx), req.PairId, duplicates.Open)
	if err != nil {
		return nil, err
	}
	return api.ReopenDuplicatePair200JSONResponse(toAPIPair(pair)), nil
}

// likelyLink returns the Link header that tells the creator of record id that it looks like
// existing records, or nil when it does not. The record is created whatever this finds: a
// failure to look is logged and leaves the header out.
func (h duplicatesHandlers) likelyLink(ctx context.Context, id string) *string {
	pairs, err := h.duplicates.Of(ctx, principal(ctx), id)
	if err != nil {
		h.log.WarnContext(ctx, "looking for likely duplicates of a new record failed",
			slog.String("request_id", requestID(ctx)), slog.String("error", err.Error()))
		return nil
	}
	for _, p := range pairs {
		if p.Status == duplicates.Open {
			return ptr.To(`</api/v1/alumni/` + id + `/duplicates>; rel="likely-duplicates"`)
		}
	}
	return nil
}

func toAPIPairs(pairs []duplicates.Pair) []api.DuplicatePair {
	out := make([]api.DuplicatePair, len(pairs))
	for i, p := range pairs {
		out[i] = toAPIPair(p)
	}
	return out
}

func toAPIPair(p duplicates.Pair) api.DuplicatePair {
	reasons := make([]api.DuplicateReason, len(p.Reasons))
	for i, r := range p.Reasons {
		reasons[i] = api.DuplicateReason(r)
	}
	return api.DuplicatePair{
		Id: p.ID, Score: p.Score, Reasons: reasons, Status: api.DuplicatePairStatus(p.Status),
		Records:  []api.Alumnus{toAPIAlumnus(p.Records[0]), toAPIAlumnus(p.Records[1])},
		ScoredAt: p.ScoredAt, DecidedAt: p.DecidedAt, DecidedBy: ptr.NonZero(p.DecidedBy),
	}
}
