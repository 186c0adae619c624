package httpapi

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
)

// userHandlers implements user management (admins only, by the contract's x-roles).
type userHandlers struct {
	auth *auth.Service
}

func (h userHandlers) ListUsers(ctx context.Context, req api.ListUsersRequestObject) (api.ListUsersResponseObject, error) {
	f := auth.UserFilter{Role: auth.Role(ptr.Deref(req.Params.Role)), Enabled: req.Params.Enabled, EmailPrefix: ptr.Deref(req.Params.Email)}
	res, err := h.auth.ListUsers(ctx, f, ptr.Deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListUsers200JSONResponse{Items: make([]api.User, len(res.Items)), NextCursor: ptr.NonZero(res.NextCursor)}
	for i, u := range res.Items {
		out.Items[i] = toAPIUser(u)
	}
	return out, nil
}

func (h userHandlers) CreateUser(ctx context.Context, req api.CreateUserRequestObject) (api.CreateUserResponseObject, error) {
	in := auth.NewUser{
		Email: string(req.Body.Email), Role: auth.Role(req.Body.Role), Password: req.Body.Password,
		Enabled: req.Body.Enabled == nil || *req.Body.Enabled, AlumnusID: ptr.Deref(req.Body.AlumnusId),
	}
	u, err := h.auth.CreateUser(ctx, in)
	if err != nil {
		return nil, err
	}
	location, tag := "/api/v1/users/"+u.ID, versionETag(u.Version)
	return api.CreateUser201JSONResponse{Body: toAPIUser(u), Headers: api.CreateUser201ResponseHeaders{Location: &location, ETag: &tag}}, nil
}

func (h userHandlers) GetUser(ctx context.Context, req api.GetUserRequestObject) (api.GetUserResponseObject, error) {
	u, err := h.auth.GetUser(ctx, req.UserId)
	if err != nil {
		return nil, err
	}
	tag := versionETag(u.Version)
	return api.GetUser200JSONResponse{Body: toAPIUser(u), Headers: api.GetUser200ResponseHeaders{ETag: &tag}}, nil
}

// userPatch is the merge patch of a user. AlumnusID distinguishes absent (nil) from null.
type userPatch struct {
	Role      *auth.Role       `json:"role"`
	Enabled   *bool            `json:"enabled"`
	AlumnusID *json.RawMessage `json:"alumnusId"`
}

func (h userHandlers) UpdateUser(ctx context.Context, req api.UpdateUserRequestObject) (api.UpdateUserResponseObject, error) {
	if req.Params.IfMatch == nil {
		return nil, errIfMatchRequired
	}
	change, err := toUserChange(*req.Body)
	if err != nil {
		return nil, err
	}
	matches := func(version int) bool { return ifMatch(*req.Params.IfMatch, versionETag(version)) }
	u, err := h.auth.UpdateUser(ctx, req.UserId, matches, change)
	if err != nil {
		return nil, err
	}
	tag := versionETag(u.Version)
	return api.UpdateUser200JSONResponse{Body: toAPIUser(u), Headers: api.UpdateUser200ResponseHeaders{ETag: &tag}}, nil
}

// toUserChange reads a user merge patch (the contract has checked its shape): alumnusId null
// unlinks the record, a member left out changes nothing.
func toUserChange(patch json.RawMessage) (auth.UserChange, error) {
	var p userPatch
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return auth.UserChange{}, derrors.New(derrors.Malformed, "The body is not a user merge patch.", derrors.FieldError{Field: "body", Message: "does not match UserPatch"})
	}
	change := auth.UserChange{Role: p.Role, Enabled: p.Enabled}
	if p.AlumnusID != nil {
		var id *string
		_ = json.Unmarshal(*p.AlumnusID, &id) // the contract checked: a string or null
		change.AlumnusID = new(string)
		if id != nil {
			*change.AlumnusID = *id
		}
	}
	return change, nil
}

func (h userHandlers) DeleteUser(ctx context.Context, req api.DeleteUserRequestObject) (api.DeleteUserResponseObject, error) {
	if err := h.auth.DeleteUser(ctx, req.UserId); err != nil {
		return nil, err
	}
	return api.DeleteUser204Response{}, nil
}

func (h userHandlers) ResetUserTotp(ctx context.Context, req api.ResetUserTotpRequestObject) (api.ResetUserTotpResponseObject, error) {
	if err := h.auth.ResetUserTOTP(ctx, req.UserId); err != nil {
		return nil, err
	}
	return api.ResetUserTotp204Response{}, nil
}
