package sqlitedb

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/postfach/postfach/internal/inbox/storetest"
)

// TestEraseLeavesNoRow: after EraseTenant, an unfiltered scan of every
// table of the schema finds no value that names the erased tenant's
// domain, and the other tenant's rows are all there.
func TestEraseLeavesNoRow(t *testing.T) {
	t.Parallel()
	s, _ := MustOpenTemp(t)
	const erased, kept = "erased.example", "kept.example"
	storetest.SeedRichTenant(t, s, erased)
	storetest.SeedRichTenant(t, s, kept)
	before := scanTables(t, s)
	if err := s.EraseTenant(t.Context(), erased); err != nil {
		t.Fatalf("EraseTenant: %v", err)
	}
	after := scanTables(t, s)
	for table, rows := range after {
		for _, row := range rows {
			if strings.Contains(row, erased) {
				t.Errorf("%s keeps a row of %s: %s", table, erased, row)
			}
		}
	}
	for table, rows := range before {
		var keep []string
		for _, row := range rows {
			if !strings.Contains(row, erased) {
				keep = append(keep, row)
			}
		}
		if !slices.Equal(keep, after[table]) {
			t.Errorf("%s: rows of other tenants changed:\nbefore %q\nafter  %q", table, keep, after[table])
		}
	}
	// Every table with rows of a tenant is one EraseTenant empties.
	erases := map[string]bool{}
	for _, tt := range tenantTables {
		erases[tt.table] = true
	}
	for table, rows := range before {
		for _, row := range rows {
			if strings.Contains(row, kept) && !erases[table] {
				t.Errorf("table %s holds tenant rows but is not in tenantTables", table)
				break
			}
		}
	}
}

// scanTables reads every row of every table of the schema, unfiltered,
// each as the text of its values.
func scanTables(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	ctx := t.Context()
	rows, err := s.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < len(tenantTables) {
		t.Fatalf("found %d tables: %v", len(tables), tables)
	}
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := s.read.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if x, ok := v.([]byte); ok {
					v = string(x)
				}
				fmt.Fprintf(&b, "%s=%v;", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}
