package backup

import (
	"context"
	"slices"
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
)

// The indexes a restore defers are the secondary ones no foreign key needs, and dropping and
// adding them again leaves the schema as it was.
func TestSecondaryIndexes(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	ixs, err := secondaryIndexes(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]index{}
	for _, ix := range ixs {
		names[ix.table+"."+ix.name] = ix
	}
	for _, want := range []string{"alumni.ix_alumni_name", "alumni.uq_alumni_email", "degrees.ix_degrees_year", "audit_events.ix_audit_events_action"} {
		if _, ok := names[want]; !ok {
			t.Errorf("%s is not deferred", want)
		}
	}
	// Those a foreign key needs stay.
	for _, kept := range []string{"degrees.uq_degrees_position", "alumni_terms.ix_alumni_terms_alumnus", "sessions.ix_sessions_user", "users.uq_users_alumnus"} {
		if _, ok := names[kept]; ok {
			t.Errorf("%s is deferred, but a foreign key needs it", kept)
		}
	}
	if ix := names["alumni.uq_alumni_email"]; !ix.unique || ix.definition() != "UNIQUE INDEX `uq_alumni_email` (`email`)" {
		t.Errorf("uq_alumni_email: %+v, %s", ix, ix.definition())
	}
	if ix := names["alumni.ix_alumni_name"]; ix.definition() != "INDEX `ix_alumni_name` (`last_name`, `first_name`, `public_id`)" {
		t.Errorf("ix_alumni_name: %s", ix.definition())
	}
	if err := alterIndexes(ctx, sqlDB, ixs, false); err != nil {
		t.Fatal(err)
	}
	if left, err := secondaryIndexes(ctx, sqlDB); err != nil || len(left) != 0 {
		t.Fatalf("after dropping: %d left (%v)", len(left), err)
	}
	if err := alterIndexes(ctx, sqlDB, ixs, true); err != nil {
		t.Fatal(err)
	}
	again, err := secondaryIndexes(ctx, sqlDB)
	if err != nil || !slices.EqualFunc(ixs, again, func(a, b index) bool { return a.definition() == b.definition() && a.table == b.table }) {
		t.Errorf("after adding them again: %v (%v), want %v", again, err, ixs)
	}
}
