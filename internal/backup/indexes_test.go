package backup

import (
	"context"
	"slices"
	"strings"
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
	for _, kept := range []string{"degrees.uq_degrees_position", "sessions.ix_sessions_user", "users.uq_users_alumnus"} {
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

// An index's definition keeps what information_schema says of it: uniqueness, full-text,
// prefix lengths and descending columns.
func TestIndexDefinition(t *testing.T) {
	tests := []struct {
		ix   index
		want string
	}{
		{index{name: "ix_a", columns: []indexColumn{{name: "a"}}}, "INDEX `ix_a` (`a`)"},
		{index{name: "uq", unique: true, columns: []indexColumn{{name: "a"}, {name: "b", sub: 10}}}, "UNIQUE INDEX `uq` (`a`, `b`(10))"},
		{index{name: "ft", fulltext: true, columns: []indexColumn{{name: "body"}}}, "FULLTEXT INDEX `ft` (`body`)"},
		{index{name: "d`x", columns: []indexColumn{{name: "at", desc: true}}}, "INDEX `d``x` (`at` DESC)"},
	}
	for _, tt := range tests {
		if got := tt.ix.definition(); got != tt.want {
			t.Errorf("definition() = %s, want %s", got, tt.want)
		}
	}
	ix := index{columns: []indexColumn{{name: "a"}, {name: "b"}}}
	for cols, want := range map[string]bool{"a": true, "a b": true, "b": false, "a b c": false} {
		if got := ix.begins(strings.Fields(cols)); got != want {
			t.Errorf("begins(%s) = %v, want %v", cols, got, want)
		}
	}
	if (index{columns: []indexColumn{{name: "a", sub: 5}}}).begins([]string{"a"}) {
		t.Error("a prefix of a column serves no foreign key")
	}
}
