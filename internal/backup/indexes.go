package backup

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A restore loads rows into tables without their secondary indexes and builds the indexes
// afterwards, as mydumper's myloader does (--innodb-optimize-keys): InnoDB then builds each
// index once, sorted, instead of inserting every row into every index as it arrives. Indexes a
// foreign key needs (those that begin with its columns) stay, since the server refuses to drop
// them; the primary keys stay, as the rows are stored in their order.

// index is one secondary index of a table, as information_schema describes it.
type index struct {
	table, name string
	unique      bool
	fulltext    bool
	columns     []indexColumn
}

type indexColumn struct {
	name string
	sub  int  // prefix length, 0 for the whole column
	desc bool // descending (MySQL 8, MariaDB 10.8+)
}

// definition is the index's part of an ALTER TABLE … ADD.
func (ix index) definition() string {
	var b strings.Builder
	switch {
	case ix.fulltext:
		b.WriteString("FULLTEXT INDEX ")
	case ix.unique:
		b.WriteString("UNIQUE INDEX ")
	default:
		b.WriteString("INDEX ")
	}
	b.WriteString(quote(ix.name) + " (")
	for i, c := range ix.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.name))
		if c.sub > 0 {
			b.WriteString("(" + strconv.Itoa(c.sub) + ")")
		}
		if c.desc {
			b.WriteString(" DESC")
		}
	}
	b.WriteString(")")
	return b.String()
}

// secondaryIndexes lists the secondary indexes of the database's tables that no foreign key
// needs, by table, in the order information_schema gives them.
func secondaryIndexes(ctx context.Context, sqlDB *sql.DB) ([]index, error) {
	rows, err := sqlDB.QueryContext(ctx, `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, COLUMN_NAME,
		COALESCE(SUB_PART, 0), COALESCE(COLLATION, 'A')
		FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY' AND TABLE_NAME <> 'schema_migrations'
		ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`)
	if err != nil {
		return nil, fmt.Errorf("list the indexes: %w", err)
	}
	defer rows.Close()
	var out []index
	for rows.Next() {
		var table, name, typ, column, collation string
		var nonUnique, sub int
		if err := rows.Scan(&table, &name, &nonUnique, &typ, &column, &sub, &collation); err != nil {
			return nil, fmt.Errorf("list the indexes: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].table != table || out[n-1].name != name {
			out = append(out, index{table: table, name: name, unique: nonUnique == 0, fulltext: typ == "FULLTEXT"})
		}
		ix := &out[len(out)-1]
		ix.columns = append(ix.columns, indexColumn{name: column, sub: sub, desc: collation == "D"})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the indexes: %w", err)
	}
	fks, err := foreignKeyColumns(ctx, sqlDB)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(ix index) bool {
		return slices.ContainsFunc(fks[ix.table], ix.begins)
	}), nil
}

// begins reports whether the index's first columns are cols, whole.
func (ix index) begins(cols []string) bool {
	if len(ix.columns) < len(cols) {
		return false
	}
	for i, c := range cols {
		if ix.columns[i].name != c || ix.columns[i].sub != 0 {
			return false
		}
	}
	return true
}

// foreignKeyColumns returns the columns of each foreign key, by table.
func foreignKeyColumns(ctx context.Context, sqlDB *sql.DB) (map[string][][]string, error) {
	rows, err := sqlDB.QueryContext(ctx, `SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME
		FROM information_schema.KEY_COLUMN_USAGE
		WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
		ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`)
	if err != nil {
		return nil, fmt.Errorf("list the foreign keys: %w", err)
	}
	defer rows.Close()
	out := map[string][][]string{}
	var lastTable, lastName string
	for rows.Next() {
		var table, name, column string
		if err := rows.Scan(&table, &name, &column); err != nil {
			return nil, fmt.Errorf("list the foreign keys: %w", err)
		}
		if table != lastTable || name != lastName {
			out[table] = append(out[table], nil)
			lastTable, lastName = table, name
		}
		fks := out[table]
		fks[len(fks)-1] = append(fks[len(fks)-1], column)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the foreign keys: %w", err)
	}
	return out, nil
}

// alterIndexes runs one ALTER TABLE per table: dropping its indexes of ixs, or adding them.
func alterIndexes(ctx context.Context, sqlDB *sql.DB, ixs []index, add bool) error {
	var tables []string
	clauses := map[string][]string{}
	for _, ix := range ixs {
		if clauses[ix.table] == nil {
			tables = append(tables, ix.table)
		}
		c := "DROP INDEX " + quote(ix.name)
		if add {
			c = "ADD " + ix.definition()
		}
		clauses[ix.table] = append(clauses[ix.table], c)
	}
	for _, t := range tables {
		stmt := "ALTER TABLE " + quote(t) + " " + strings.Join(clauses[t], ", ") //nolint:gosec // names from information_schema, quoted
		if _, err := sqlDB.ExecContext(ctx, stmt); err != nil {
			verb := "drop"
			if add {
				verb = "build"
			}
			return fmt.Errorf("%s the indexes of %s: %w", verb, t, err)
		}
	}
	return nil
}
