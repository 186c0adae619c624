package httpapi

import (
	"context"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/listing"
)

// analyticsHandlers implements the analytics reports. Every report takes the list's filter
// parameters; the generated parameter structs of the reports and of the facets are the same
// type, so each converts to api.GetAlumniFacetsParams.
type analyticsHandlers struct {
	reader *listing.Reader
}

func (h analyticsHandlers) GetAnalyticsOverview(ctx context.Context, req api.GetAnalyticsOverviewRequestObject) (api.GetAnalyticsOverviewResponseObject, error) {
	o, err := h.reader.Overview(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	return api.GetAnalyticsOverview200JSONResponse{
		Total: o.Total, Status: toAPIBuckets(o.Status), Contactability: toAPIBuckets(o.Contactability),
	}, nil
}

func (h analyticsHandlers) GetAnalyticsGraduationYears(ctx context.Context, req api.GetAnalyticsGraduationYearsRequestObject) (api.GetAnalyticsGraduationYearsResponseObject, error) {
	years, err := h.reader.GraduationYears(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	out := api.GetAnalyticsGraduationYears200JSONResponse{Years: make([]struct {
		Count      int    `json:"count"`
		Cumulative int    `json:"cumulative"`
		Value      string `json:"value"`
	}, len(years))}
	for i, y := range years {
		out.Years[i].Value, out.Years[i].Count, out.Years[i].Cumulative = y.Year, y.Count, y.Cumulative
	}
	return out, nil
}

func (h analyticsHandlers) GetAnalyticsPrograms(ctx context.Context, req api.GetAnalyticsProgramsRequestObject) (api.GetAnalyticsProgramsResponseObject, error) {
	r, err := h.reader.Programs(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	return api.GetAnalyticsPrograms200JSONResponse{Programs: toAPIBuckets(r.Programs), Faculties: toAPIBuckets(r.Faculties)}, nil
}

func (h analyticsHandlers) GetAnalyticsGeography(ctx context.Context, req api.GetAnalyticsGeographyRequestObject) (api.GetAnalyticsGeographyResponseObject, error) {
	r, err := h.reader.Geography(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	out := api.GetAnalyticsGeography200JSONResponse{Countries: toAPIBuckets(r.Countries), Cities: make([]struct {
		City    string `json:"city"`
		Count   int    `json:"count"`
		Country string `json:"country"`
	}, len(r.Cities))}
	for i, c := range r.Cities {
		out.Cities[i].Country, out.Cities[i].City, out.Cities[i].Count = c.Country, c.City, c.Count
	}
	return out, nil
}

func (h analyticsHandlers) GetAnalyticsEmployment(ctx context.Context, req api.GetAnalyticsEmploymentRequestObject) (api.GetAnalyticsEmploymentResponseObject, error) {
	r, err := h.reader.Employers(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	return api.GetAnalyticsEmployment200JSONResponse{Industries: toAPIBuckets(r.Industries), Employers: toAPIBuckets(r.Employers)}, nil
}

func (h analyticsHandlers) GetAnalyticsActivity(ctx context.Context, req api.GetAnalyticsActivityRequestObject) (api.GetAnalyticsActivityResponseObject, error) {
	r, err := h.reader.Activity(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	return api.GetAnalyticsActivity200JSONResponse{Created: toAPIBuckets(r.Created), Updated: toAPIBuckets(r.Updated)}, nil
}

func (h analyticsHandlers) GetAnalyticsDataQuality(ctx context.Context, req api.GetAnalyticsDataQualityRequestObject) (api.GetAnalyticsDataQualityResponseObject, error) {
	q, err := h.reader.DataQuality(ctx, principal(ctx), facetFilter(api.GetAlumniFacetsParams(req.Params)))
	if err != nil {
		return nil, err
	}
	return api.GetAnalyticsDataQuality200JSONResponse{
		Total: q.Total, MissingEmail: q.MissingEmail, NoEmployment: q.NoEmployment, NoDegree: q.NoDegree,
		NoAddress: q.NoAddress, LostContact: q.LostContact, DuplicateGroups: q.DuplicateGroups, DuplicateRecords: q.DuplicateRecords,
	}, nil
}
