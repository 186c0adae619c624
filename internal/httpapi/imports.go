package httpapi

import (
	"context"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/importer"
)

// importHandlers implements the import operations of the contract.
type importHandlers struct {
	imports *importer.Service
}

// CreateImport receives the form as it arrives: the request validator leaves multipart bodies
// to the handler, and the importer checks the parts.
func (h importHandlers) CreateImport(ctx context.Context, req api.CreateImportRequestObject) (api.CreateImportResponseObject, error) {
	j, err := h.imports.Receive(ctx, req.Body)
	if err != nil {
		return nil, err
	}
	location := "/api/v1/alumni/imports/" + j.ID
	return api.CreateImport202JSONResponse{Body: toAPIImportJob(j), Headers: api.CreateImport202ResponseHeaders{Location: &location}}, nil
}

func (h importHandlers) GetImport(ctx context.Context, req api.GetImportRequestObject) (api.GetImportResponseObject, error) {
	j, err := h.imports.Get(ctx, req.ImportId)
	if err != nil {
		return nil, err
	}
	return api.GetImport200JSONResponse(toAPIImportJob(j)), nil
}

func (h importHandlers) ListImports(ctx context.Context, req api.ListImportsRequestObject) (api.ListImportsResponseObject, error) {
	res, err := h.imports.List(ctx, ptr.Deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListImports200JSONResponse{Items: make([]api.ImportJob, len(res.Items)), NextCursor: ptr.NonZero(res.NextCursor)}
	for i, j := range res.Items {
		out.Items[i] = toAPIImportJob(j)
	}
	return out, nil
}

func (h importHandlers) ListImportErrors(ctx context.Context, req api.ListImportErrorsRequestObject) (api.ListImportErrorsResponseObject, error) {
	res, err := h.imports.ListErrors(ctx, req.ImportId, ptr.Deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	return api.ListImportErrors200JSONResponse{Items: toAPIImportErrors(res.Items), NextCursor: ptr.NonZero(res.NextCursor)}, nil
}

func toAPIImportJob(j importer.Job) api.ImportJob {
	out := api.ImportJob{
		Id: j.ID, Status: api.ImportJobStatus(j.Status), Mode: api.Apply, FileName: j.FileName, FileSize: j.FileSize,
		Delimiter: api.ImportJobDelimiter(j.Delimiter), Columns: make([]api.ImportColumn, len(j.Columns)),
		IgnoredColumns: j.IgnoredColumns, TotalRows: j.TotalRows, ProcessedRows: j.ProcessedRows,
		Counts: api.ImportCounts{
			Created: j.Counts.Created, Updated: j.Counts.Updated, Unchanged: j.Counts.Unchanged, Rejected: j.Counts.Rejected,
		},
		ErrorCount: j.ErrorCount, Failure: ptr.NonZero(j.Failure), CreatedBy: ptr.NonZero(j.CreatedBy),
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
	}
	if j.DryRun {
		out.Mode = api.DryRun
	}
	for i, c := range j.Columns {
		out.Columns[i] = api.ImportColumn{Column: c.Header, Field: api.ImportField(c.Field)}
	}
	if j.Errors != nil {
		errs := toAPIImportErrors(j.Errors)
		out.Errors = &errs
	}
	return out
}

func toAPIImportErrors(errs []importer.RowError) []api.ImportError {
	out := make([]api.ImportError, len(errs))
	for i, e := range errs {
		out[i] = api.ImportError{Row: e.Row, Line: e.Line, Column: ptr.NonZero(e.Column), Field: ptr.NonZero(e.Field), Message: e.Message}
	}
	return out
}
