package httpapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// auditWalk follows nextCursor through GET /api/v1/audit-events?query with pages of limit and
// returns every event, with the raw bodies of the pages.
func auditWalk(t *testing.T, c *apitest.Client, query string, limit int) ([]api.AuditEvent, []byte) {
	t.Helper()
	events, _, raw := apitest.Walk[api.AuditEvent](t, c, "/api/v1/audit-events", query, limit)
	return events, raw
}

// auditAll returns every event matching query, newest first.
func auditAll(t *testing.T, c *apitest.Client, query string) []api.AuditEvent {
	t.Helper()
	events, _ := auditWalk(t, c, query, 200)
	return events
}

func requestIDOf(r *apitest.Response) string { return r.Header.Get("X-Request-Id") }

// eventsOf returns the events written by the request with id requestID.
func eventsOf(events []api.AuditEvent, requestID string) []api.AuditEvent {
	var out []api.AuditEvent
	for _, e := range events {
		if deref(e.RequestId) == requestID {
			out = append(out, e)
		}
	}
	return out
}

func changeMap(e api.AuditEvent) map[string]api.AuditChange {
	m := map[string]api.AuditChange{}
	if e.Changes != nil {
		for _, c := range *e.Changes {
			m[c.Field] = c
		}
	}
	return m
}

func actions(events []api.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Action
	}
	return out
}

func eventIDs(events []api.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Id
	}
	return out
}

func mustStatus(t *testing.T, resp *apitest.Response, status int) *apitest.Response {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
	return resp
}

// Every kind of change writes one event with who, what, which entity, the values before and
// after, and the request id and client address of the request that made it.
func TestAuditTrailRecordsEveryChange(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	adminActor := &api.AuditActor{Id: whoAmI(t, admin).User.Id, Role: api.RoleAdmin}

	type step struct {
		name, action, entityType, entityID string
		resp                               *apitest.Response
		actor                              *api.AuditActor // nil: no actor
		check                              func(t *testing.T, e api.AuditEvent)
	}
	var steps []step
	noBefore := func(t *testing.T, e api.AuditEvent) {
		for _, c := range deref(e.Changes) {
			if c.Before != nil || c.After == nil {
				t.Errorf("a creation's change has a before or lacks an after: %+v", c)
			}
		}
	}
	exactly := func(want map[string][2]any) func(t *testing.T, e api.AuditEvent) {
		return func(t *testing.T, e api.AuditEvent) {
			got := changeMap(e)
			if len(got) != len(want) {
				t.Errorf("changes %+v, want fields %v", deref(e.Changes), want)
			}
			for field, ba := range want {
				c, ok := got[field]
				if !ok {
					t.Errorf("no change of %s in %+v", field, deref(e.Changes))
					continue
				}
				if fmt.Sprint(c.Before) != fmt.Sprint(ba[0]) || fmt.Sprint(c.After) != fmt.Sprint(ba[1]) {
					t.Errorf("%s: %v -> %v, want %v -> %v", field, c.Before, c.After, ba[0], ba[1])
				}
			}
		}
	}

	// Alumni.
	resp := mustStatus(t, admin.Post("/api/v1/alumni", map[string]any{
		"firstName": "Ada", "lastName": "King", "email": "ada@example.org", "phone": "+44 20 7946 0958",
		"employment": map[string]any{"employer": "Analytical Engines", "jobTitle": "Programmer"}, "tags": []any{"mentor"},
	}), http.StatusCreated)
	var rec api.Alumnus
	resp.JSON(t, &rec)
	path := "/api/v1/alumni/" + rec.Id
	steps = append(steps, step{"create", "alumnus.create", "alumnus", rec.Id, resp, adminActor, func(t *testing.T, e api.AuditEvent) {
		noBefore(t, e)
		got := changeMap(e)
		for field, after := range map[string]string{"firstName": "Ada", "lastName": "King", "email": "ada@example.org", "employment.employer": "Analytical Engines", "tags": "[mentor]"} {
			if fmt.Sprint(got[field].After) != after {
				t.Errorf("%s after = %v, want %s", field, got[field].After, after)
			}
		}
		for _, empty := range []string{"preferredName", "studentId", "notes", "address.city", "degrees"} {
			if _, ok := got[empty]; ok {
				t.Errorf("a field left empty is recorded: %s", empty)
			}
		}
	}})
	resp = mustStatus(t, admin.Patch(path, `"1"`, map[string]any{
		"phone": "+44 20 7946 0999", "employment": map[string]any{"employer": "Babbage & Co"}, "email": nil, "lastName": "King",
	}), http.StatusOK)
	steps = append(steps, step{"update", "alumnus.update", "alumnus", rec.Id, resp, adminActor, exactly(map[string][2]any{
		"phone":               {"+44 20 7946 0958", "+44 20 7946 0999"},
		"employment.employer": {"Analytical Engines", "Babbage & Co"},
		"email":               {"ada@example.org", nil},
	})})
	noop := mustStatus(t, admin.Patch(path, `"2"`, map[string]any{"lastName": "King"}), http.StatusOK)
	resp = mustStatus(t, admin.Post(path+"/invites", map[string]any{"email": "ada.invite@example.org"}), http.StatusCreated)
	var inv api.Invite
	resp.JSON(t, &inv)
	steps = append(steps, step{"invite", "invite.create", "invite", inv.Id, resp, adminActor, func(t *testing.T, e api.AuditEvent) {
		noBefore(t, e)
		got := changeMap(e)
		if got["alumnusId"].After != rec.Id || got["email"].After != "ada.invite@example.org" || got["expiresAt"].After == nil {
			t.Errorf("invite changes: %+v", deref(e.Changes))
		}
		if raw, _ := json.Marshal(e); strings.Contains(string(raw), inv.Token) {
			t.Errorf("the invite's token is recorded: %s", raw)
		}
	}})
	resp = mustStatus(t, admin.Delete(path, `"2"`), http.StatusNoContent)
	steps = append(steps, step{"delete", "alumnus.delete", "alumnus", rec.Id, resp, adminActor, nil})
	resp = mustStatus(t, admin.Post(path+"/restore", nil), http.StatusOK)
	steps = append(steps, step{"restore", "alumnus.restore", "alumnus", rec.Id, resp, adminActor, nil})

	// Users and sessions.
	resp = mustStatus(t, admin.Post("/api/v1/users", map[string]any{"email": "clerk@example.org", "role": "staff", "password": apitest.TestPassword}), http.StatusCreated)
	var u api.User
	resp.JSON(t, &u)
	steps = append(steps, step{"user create", "user.create", "user", u.Id, resp, adminActor, exactly(map[string][2]any{
		"email": {nil, "clerk@example.org"}, "role": {nil, "staff"}, "enabled": {nil, true},
	})})
	resp = mustStatus(t, admin.Patch("/api/v1/users/"+u.Id, `"1"`, map[string]any{"role": "viewer"}), http.StatusOK)
	steps = append(steps, step{"user update", "user.update", "user", u.Id, resp, adminActor, exactly(map[string][2]any{"role": {"staff", "viewer"}})})
	userActor := &api.AuditActor{Id: u.Id, Role: api.RoleViewer}
	resp = mustStatus(t, s.Anon.Post("/api/v1/auth/login", map[string]any{"email": "clerk@example.org", "password": apitest.TestPassword}), http.StatusOK)
	var tok api.Tokens
	resp.JSON(t, &tok)
	steps = append(steps, step{"login", "session.login", "user", u.Id, resp, userActor, nil})
	resp = mustStatus(t, s.Anon.Post("/api/v1/auth/login", map[string]any{"email": "clerk@example.org", "password": "not the password at all"}), http.StatusUnauthorized)
	steps = append(steps, step{"failed login", "session.login_failed", "user", u.Id, resp, nil, exactly(map[string][2]any{"email": {nil, "clerk@example.org"}})})
	resp = mustStatus(t, s.Anon.Post("/api/v1/auth/login", map[string]any{"email": "nobody@example.org", "password": "not the password at all"}), http.StatusUnauthorized)
	steps = append(steps, step{"failed login, unknown email", "session.login_failed", "user", "", resp, nil, exactly(map[string][2]any{"email": {nil, "nobody@example.org"}})})
	clerk := s.Anon.WithToken(tok.AccessToken)
	session := whoAmI(t, clerk).SessionId
	resp = mustStatus(t, clerk.Post("/api/v1/auth/logout", nil), http.StatusNoContent)
	steps = append(steps, step{"logout", "session.logout", "session", session, resp, userActor, nil})
	resp = mustStatus(t, admin.Delete("/api/v1/users/"+u.Id, ""), http.StatusNoContent)
	steps = append(steps, step{"user delete", "user.delete", "user", u.Id, resp, adminActor, exactly(map[string][2]any{
		"email": {"clerk@example.org", nil}, "role": {"viewer", nil}, "enabled": {true, nil},
	})})

	// Settings.
	cur := admin.Get("/api/v1/settings", nil)
	var st api.Settings
	cur.JSON(t, &st)
	st.OrganizationName, st.InviteValidityDays = "Example Alumni", 7
	resp = mustStatus(t, putSettings(admin, cur.Header.Get("ETag"), st), http.StatusOK)
	steps = append(steps, step{"settings", "settings.update", "settings", "", resp, adminActor, exactly(map[string][2]any{
		"organizationName": {"Alumni Office", "Example Alumni"}, "inviteValidityDays": {14, 7},
	})})

	events := auditAll(t, admin, "")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			rid := requestIDOf(st.resp)
			found := eventsOf(events, rid)
			if len(found) != 1 {
				t.Fatalf("%d events for request %s, want 1: %+v", len(found), rid, found)
			}
			e := found[0]
			if e.Action != st.action || string(e.EntityType) != st.entityType || deref(e.EntityId) != st.entityID {
				t.Errorf("event %s %s %s, want %s %s %s", e.Action, e.EntityType, deref(e.EntityId), st.action, st.entityType, st.entityID)
			}
			switch {
			case st.actor == nil && e.Actor != nil:
				t.Errorf("actor %+v, want none", *e.Actor)
			case st.actor != nil && (e.Actor == nil || *e.Actor != *st.actor):
				t.Errorf("actor %+v, want %+v", e.Actor, *st.actor)
			}
			if deref(e.ClientIp) != "127.0.0.1" {
				t.Errorf("clientIp %q", deref(e.ClientIp))
			}
			if e.OccurredAt.IsZero() {
				t.Error("no occurredAt")
			}
			if st.check != nil {
				st.check(t, e)
			}
		})
	}
	if got := eventsOf(events, requestIDOf(noop)); len(got) != 0 {
		t.Errorf("a patch that changed nothing wrote %v", actions(got))
	}
	if got := actions(auditAll(t, admin, "entityType=alumnus")); !slices.Equal(got, []string{"alumnus.restore", "alumnus.delete", "alumnus.update", "alumnus.create"}) {
		t.Errorf("alumnus events: %v", got)
	}
}

// The trail can be filtered by actor, entity, action and time, and paged newest first; only
// admins may read it.
func TestAuditFiltersAndPages(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	staff := s.As(t, auth.RoleStaff)
	staffID := whoAmI(t, staff).User.Id
	for i := range 3 {
		create(t, admin, map[string]any{"firstName": fmt.Sprint("Admin", i), "lastName": "Made"})
	}
	first, _ := create(t, staff, map[string]any{"firstName": "Staff", "lastName": "Made"})
	create(t, staff, map[string]any{"firstName": "Staff2", "lastName": "Made"})
	mustStatus(t, staff.Patch("/api/v1/alumni/"+first.Id, `"1"`, map[string]any{"notes": "checked"}), http.StatusOK)
	mustStatus(t, admin.Delete("/api/v1/alumni/"+first.Id, ""), http.StatusNoContent)
	mustStatus(t, admin.Post("/api/v1/alumni/"+first.Id+"/restore", nil), http.StatusOK)
	viewer := s.As(t, auth.RoleViewer)
	mustStatus(t, viewer.Post("/api/v1/auth/logout", nil), http.StatusNoContent)

	full := auditAll(t, admin, "")
	for i := 1; i < len(full); i++ {
		prev, _ := strconv.ParseInt(full[i-1].Id, 10, 64)
		cur, _ := strconv.ParseInt(full[i].Id, 10, 64)
		if cur >= prev {
			t.Errorf("not newest first: id %d after %d", cur, prev)
		}
		if full[i].OccurredAt.After(full[i-1].OccurredAt) {
			t.Errorf("event %s occurred after the newer %s", full[i].Id, full[i-1].Id)
		}
	}

	t.Run("pages", func(t *testing.T) {
		for _, limit := range []int{1, 2, 5} {
			paged, _ := auditWalk(t, admin, "", limit)
			if !slices.Equal(eventIDs(paged), eventIDs(full)) {
				t.Errorf("limit %d: %v, want %v", limit, eventIDs(paged), eventIDs(full))
			}
		}
	})
	t.Run("actor", func(t *testing.T) {
		got, _ := auditWalk(t, admin, "actorId="+staffID, 1)
		if want := []string{"alumnus.update", "alumnus.create", "alumnus.create", "session.login"}; !slices.Equal(actions(got), want) {
			t.Errorf("staff's events: %v, want %v", actions(got), want)
		}
		for _, e := range got {
			if e.Actor == nil || e.Actor.Id != staffID || e.Actor.Role != api.RoleStaff {
				t.Errorf("event by someone else: %+v", e.Actor)
			}
		}
	})
	t.Run("entity", func(t *testing.T) {
		got, _ := auditWalk(t, admin, "entityType=alumnus&entityId="+first.Id, 2)
		if want := []string{"alumnus.restore", "alumnus.delete", "alumnus.update", "alumnus.create"}; !slices.Equal(actions(got), want) {
			t.Errorf("events of %s: %v, want %v", first.Id, actions(got), want)
		}
		if got := auditAll(t, admin, "entityType=session"); !slices.Equal(actions(got), []string{"session.logout"}) {
			t.Errorf("session events: %v", actions(got))
		}
	})
	t.Run("action", func(t *testing.T) {
		got, _ := auditWalk(t, admin, "action=alumnus.create", 2)
		if len(got) != 5 {
			t.Errorf("%d creations, want 5", len(got))
		}
		for _, e := range got {
			if e.Action != "alumnus.create" {
				t.Errorf("action filter let %s through", e.Action)
			}
		}
		got, _ = auditWalk(t, admin, "action=alumnus.create&actorId="+staffID, 1)
		if len(got) != 2 {
			t.Errorf("%d creations by staff, want 2", len(got))
		}
	})
	t.Run("time", func(t *testing.T) {
		pivot := full[len(full)/2]
		at := url.QueryEscape(pivot.OccurredAt.UTC().Format(time.RFC3339Nano))
		var atOrAfter, before []string
		for _, e := range full {
			if e.OccurredAt.Before(pivot.OccurredAt) {
				before = append(before, e.Id)
			} else {
				atOrAfter = append(atOrAfter, e.Id)
			}
		}
		if got, _ := auditWalk(t, admin, "from="+at, 3); !slices.Equal(eventIDs(got), atOrAfter) {
			t.Errorf("from %s: %v, want %v", pivot.OccurredAt, eventIDs(got), atOrAfter)
		}
		if got, _ := auditWalk(t, admin, "to="+at, 3); !slices.Equal(eventIDs(got), before) {
			t.Errorf("to %s: %v, want %v", pivot.OccurredAt, eventIDs(got), before)
		}
		if !slices.Contains(atOrAfter, pivot.Id) {
			t.Errorf("from does not include its own instant")
		}
		oldest := full[len(full)-1].OccurredAt
		newest := full[0].OccurredAt
		window := "from=" + url.QueryEscape(oldest.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(newest.Add(time.Microsecond).Format(time.RFC3339Nano))
		if got, _ := auditWalk(t, admin, window, 4); !slices.Equal(eventIDs(got), eventIDs(full)) {
			t.Errorf("a window around everything: %d events, want %d", len(got), len(full))
		}
		assertProblem(t, admin.Get("/api/v1/audit-events?from="+at+"&to="+at, nil), http.StatusBadRequest, "to")
	})
	t.Run("bad parameters", func(t *testing.T) {
		for query, field := range map[string]string{
			"cursor=bm90LWEtbnVtYmVy": "cursor",
			"actorId=nope":            "actorId",
			"entityType=planet":       "entityType",
			"action=DROP%20TABLE":     "action",
			"from=yesterday":          "from",
			"limit=0":                 "limit",
			"actor=x":                 "actor",
		} {
			assertProblem(t, admin.Get("/api/v1/audit-events?"+query, nil), http.StatusBadRequest, field)
		}
	})
	t.Run("admins only", func(t *testing.T) {
		rec, _ := create(t, admin, map[string]any{"firstName": "Al", "lastName": "Umnus"})
		for _, c := range []*apitest.Client{staff, s.As(t, auth.RoleViewer), s.AsAlumnus(t, rec.Id)} {
			assertProblem(t, c.Get("/api/v1/audit-events", nil), http.StatusForbidden, "")
		}
		assertProblem(t, s.Anon.Get("/api/v1/audit-events", nil), http.StatusUnauthorized, "")
	})
}

// No event carries a password or a token: not the ones set, not the ones tried, not the
// tokens handed out.
func TestAuditRecordsNoSecrets(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	const (
		first  = "amber falcon crosses silent tundra"
		second = "copper lantern glows over misty fjords"
		wrong  = "this is certainly the wrong passphrase"
		third  = "seven willow branches hum in autumn"
	)
	secrets := []string{apitest.TestPassword, first, second, wrong, third, admin.Token()}

	u := postUser(t, admin, map[string]any{"email": "keeper@example.org", "role": "staff", "password": first})
	_, tok := s.Login(t, "keeper@example.org", first)
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	resp := mustStatus(t, s.Anon.Post("/api/v1/auth/refresh", map[string]any{"refreshToken": tok.RefreshToken}), http.StatusOK)
	var renewed api.Tokens
	resp.JSON(t, &renewed)
	secrets = append(secrets, renewed.AccessToken, renewed.RefreshToken)
	// Using the first refresh token again ends the session and is audited.
	mustStatus(t, s.Anon.Post("/api/v1/auth/refresh", map[string]any{"refreshToken": tok.RefreshToken}), http.StatusUnauthorized)
	mustStatus(t, s.Anon.Post("/api/v1/auth/login", map[string]any{"email": "keeper@example.org", "password": wrong}), http.StatusUnauthorized)
	keeper, tok2 := s.Login(t, "keeper@example.org", first)
	secrets = append(secrets, tok2.AccessToken, tok2.RefreshToken)
	mustStatus(t, keeper.Post("/api/v1/auth/password", map[string]any{"currentPassword": wrong, "newPassword": second}), http.StatusUnprocessableEntity)
	mustStatus(t, keeper.Post("/api/v1/auth/password", map[string]any{"currentPassword": first, "newPassword": second}), http.StatusNoContent)

	rec, _ := create(t, admin, map[string]any{"firstName": "Ivy", "lastName": "Invited", "email": "ivy@example.org"})
	resp = mustStatus(t, admin.Post("/api/v1/alumni/"+rec.Id+"/invites", map[string]any{}), http.StatusCreated)
	var inv api.Invite
	resp.JSON(t, &inv)
	secrets = append(secrets, inv.Token)
	resp = mustStatus(t, s.Anon.Post("/api/v1/auth/accept-invite", map[string]any{"token": inv.Token, "password": third}), http.StatusOK)
	var accepted api.Tokens
	resp.JSON(t, &accepted)
	secrets = append(secrets, accepted.AccessToken, accepted.RefreshToken)

	events, raw := auditWalk(t, admin, "", 3)
	var stored strings.Builder
	rows, err := s.DB.QueryContext(t.Context(), `SELECT CONCAT_WS(' ', action, entity_type, entity_id, actor_id, CAST(changes AS CHAR), request_id, client_ip) FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		stored.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("a secret is empty")
		}
		if strings.Contains(string(raw), secret) || strings.Contains(stored.String(), secret) {
			t.Errorf("the audit trail contains the secret %.12s…", secret)
		}
		if strings.Contains(s.Logs(), secret) {
			t.Errorf("the service log contains the secret %.12s…", secret)
		}
	}
	for _, field := range []string{"password", "passwordHash", "token", "refreshToken", "accessToken"} {
		for _, e := range events {
			if c, ok := changeMap(e)[field]; ok && (c.Before != nil || c.After != nil) {
				t.Errorf("%s records a value for %s: %+v", e.Action, field, c)
			}
		}
	}

	got := map[string]int{}
	for _, e := range events {
		got[e.Action]++
	}
	for _, action := range []string{"user.create", "session.login", "session.login_failed", "session.refresh_reuse", "user.password_change", "invite.create", "invite.accept"} {
		if got[action] == 0 {
			t.Errorf("no %s event; actions: %v", action, got)
		}
	}
	pw := auditAll(t, admin, "action=user.password_change&entityType=user&entityId="+u.Id)
	if len(pw) != 1 || !slices.Equal(slices.Sorted(maps.Keys(changeMap(pw[0]))), []string{"password"}) {
		t.Errorf("password change events: %+v", pw)
	}
}

// A change and its event commit together: a refused change writes no event, and a change
// whose event cannot be written does not happen.
func TestAuditIsAtomicWithTheChange(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	adminID := whoAmI(t, admin).User.Id
	one, _ := create(t, admin, map[string]any{"firstName": "One", "lastName": "First", "email": "one@example.org", "studentId": "S1"})
	two, _ := create(t, admin, map[string]any{"firstName": "Two", "lastName": "Second", "email": "two@example.org"})
	bare, _ := create(t, admin, map[string]any{"firstName": "No", "lastName": "Email"})
	clerk := postUser(t, admin, map[string]any{"email": "clerk@example.org", "role": "staff"})
	settingsResp := admin.Get("/api/v1/settings", nil)
	var st api.Settings
	settingsResp.JSON(t, &st)
	settingsTag := settingsResp.Header.Get("ETag")
	baseline := auditAll(t, admin, "")

	t.Run("refused changes write nothing", func(t *testing.T) {
		refused := []struct {
			name   string
			do     func() *apitest.Response
			status int
		}{
			{"update to a taken email", func() *apitest.Response {
				return admin.Patch("/api/v1/alumni/"+two.Id, `"1"`, map[string]any{"email": "one@example.org"})
			}, 409},
			{"create with a taken student id", func() *apitest.Response {
				return admin.Post("/api/v1/alumni", map[string]any{"firstName": "X", "lastName": "Y", "studentId": "s1"})
			}, 409},
			{"stale update", func() *apitest.Response {
				return admin.Patch("/api/v1/alumni/"+two.Id, `"9"`, map[string]any{"notes": "x"})
			}, 412},
			{"unacceptable update", func() *apitest.Response {
				return admin.Patch("/api/v1/alumni/"+two.Id, `"1"`, map[string]any{"address": map[string]any{"country": "XX"}})
			}, 422},
			{"stale delete", func() *apitest.Response { return admin.Delete("/api/v1/alumni/"+two.Id, `"9"`) }, 412},
			{"weak user password", func() *apitest.Response {
				return admin.Post("/api/v1/users", map[string]any{"email": "w@example.org", "role": "staff", "password": "password1234"})
			}, 422},
			{"last admin demoted", func() *apitest.Response {
				return admin.Patch("/api/v1/users/"+adminID, `"1"`, map[string]any{"role": "staff"})
			}, 409},
			{"last admin deleted", func() *apitest.Response { return admin.Delete("/api/v1/users/"+adminID, "") }, 409},
			{"stale settings", func() *apitest.Response { return putSettings(admin, `"00"`, st) }, 412},
			{"invite without an email", func() *apitest.Response {
				return admin.Post("/api/v1/alumni/"+bare.Id+"/invites", map[string]any{})
			}, 422},
		}
		var ids []string
		for _, tt := range refused {
			resp := tt.do()
			if resp.Status != tt.status {
				t.Errorf("%s: %d, want %d: %s", tt.name, resp.Status, tt.status, resp.Body)
			}
			ids = append(ids, requestIDOf(resp))
		}
		after := auditAll(t, admin, "")
		if !slices.Equal(eventIDs(after), eventIDs(baseline)) {
			t.Errorf("refused changes wrote events: %v", actions(after[:len(after)-len(baseline)]))
		}
		for _, id := range ids {
			if got := eventsOf(after, id); len(got) != 0 {
				t.Errorf("request %s wrote %v", id, actions(got))
			}
		}
	})

	t.Run("no event, no change", func(t *testing.T) {
		count := func(table string) int {
			var n int
			if err := s.DB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		tables := []string{"alumni", "users", "sessions", "invites", "settings"}
		before := map[string]int{}
		for _, table := range tables {
			before[table] = count(table)
		}
		alumniBefore := listAll(t, admin, "", 200)
		usersBefore, _ := walkUsers(t, admin, "", 200)

		if _, err := s.DB.ExecContext(t.Context(), "RENAME TABLE audit_events TO audit_events_off"); err != nil {
			t.Fatal(err)
		}
		renamed := true
		restore := func() {
			if renamed {
				if _, err := s.DB.ExecContext(t.Context(), "RENAME TABLE audit_events_off TO audit_events"); err != nil {
					t.Fatal(err)
				}
				renamed = false
			}
		}
		defer restore()
		st.OrganizationName = "Changed Without A Trace"
		attempts := []struct {
			name string
			do   func() *apitest.Response
		}{
			{"create", func() *apitest.Response {
				return admin.Post("/api/v1/alumni", map[string]any{"firstName": "Ghost", "lastName": "Record"})
			}},
			{"update", func() *apitest.Response {
				return admin.Patch("/api/v1/alumni/"+two.Id, `"1"`, map[string]any{"phone": "+1 555 0100", "notes": "ghost"})
			}},
			{"delete", func() *apitest.Response { return admin.Delete("/api/v1/alumni/"+one.Id, "") }},
			{"create user", func() *apitest.Response {
				return admin.Post("/api/v1/users", map[string]any{"email": "ghost@example.org", "role": "staff", "password": apitest.TestPassword})
			}},
			{"update user", func() *apitest.Response {
				return admin.Patch("/api/v1/users/"+clerk.Id, `"1"`, map[string]any{"role": "viewer"})
			}},
			{"settings", func() *apitest.Response { return putSettings(admin, settingsTag, st) }},
			{"invite", func() *apitest.Response {
				return admin.Post("/api/v1/alumni/"+one.Id+"/invites", map[string]any{})
			}},
			{"login", func() *apitest.Response {
				return s.Anon.Post("/api/v1/auth/login", map[string]any{"email": usersBefore[0].Email, "password": apitest.TestPassword})
			}},
		}
		statuses := map[string]int{}
		for _, a := range attempts {
			statuses[a.name] = a.do().Status
		}
		restore()

		for name, status := range statuses {
			if status != http.StatusInternalServerError {
				t.Errorf("%s without the audit table: %d, want 500", name, status)
			}
		}
		for _, table := range tables {
			if n := count(table); n != before[table] {
				t.Errorf("%s: %d rows, had %d", table, n, before[table])
			}
		}
		if diff := cmpJSON(t, alumniBefore, listAll(t, admin, "", 200)); diff != "" {
			t.Errorf("alumni changed: %s", diff)
		}
		if _, tag := getAlumnus(t, admin, two.Id); tag != `"1"` {
			t.Errorf("updated record's ETag %s, want \"1\"", tag)
		}
		if r := admin.Get("/api/v1/settings", nil); r.Header.Get("ETag") != settingsTag {
			t.Errorf("settings changed: %s", r.Body)
		}
		if usersAfter, _ := walkUsers(t, admin, "", 200); cmpJSON(t, usersBefore, usersAfter) != "" {
			t.Errorf("users changed: %v", emails(usersAfter))
		}
		if after := auditAll(t, admin, ""); !slices.Equal(eventIDs(after), eventIDs(baseline)) {
			t.Errorf("events appeared: %v", actions(after))
		}
	})
}

// The trail cannot be changed through the API: the contract has only GET under
// /api/v1/audit-events, and other methods are refused.
func TestAuditTrailIsReadOnly(t *testing.T) {
	s := newServer(t)
	doc := loadContract(t)
	n := 0
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/audit-events") {
			continue
		}
		for method := range item.Operations() {
			n++
			if method != http.MethodGet {
				t.Errorf("the contract has %s %s: the audit trail must be read-only", method, path)
			}
		}
	}
	if n == 0 {
		t.Fatal("no audit operations in the contract")
	}
	create(t, s.Client, map[string]any{"firstName": "A", "lastName": "B"})
	before := auditAll(t, s.Client, "")
	id := before[0].Id
	for _, path := range []string{"/api/v1/audit-events", "/api/v1/audit-events/" + id} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			resp := s.Client.Do(apitest.Request{Method: method, Path: path, Body: `{"action":"x.y"}`})
			if resp.Status != http.StatusMethodNotAllowed && resp.Status != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404 or 405", method, path, resp.Status)
			}
		}
	}
	if after := auditAll(t, s.Client, ""); !slices.Equal(eventIDs(after), eventIDs(before)) {
		t.Errorf("the trail changed: %v", actions(after))
	}
}
