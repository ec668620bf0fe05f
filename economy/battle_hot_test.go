package economy_test

import (
	"context"
	"slices"
	"testing"
)

// A battle's steps are HOT updates (migrations 007 and 013): no index
// covers a column that a move or a settlement writes, by key, expression
// or predicate. Otherwise each settlement adds entries to every index of
// the table, and SERIALIZABLE settlements of battles whose rows share an
// index page abort each other (bench/battles: 2.5 retries per settlement).
func TestBattleStepsWriteNoIndexedColumn(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		table   string
		written []string // the columns economy.battle_step writes
	}{
		{"economy.battles", []string{"state", "deadline", "escrow", "battle", "winner", "fee", "settled_at"}},
		{"economy.companions", []string{"battle_id", "xp", "mood"}},
		{"economy.accounts", []string{"wallet"}},
	} {
		t.Run(tc.table, func(t *testing.T) {
			// An index depends on every column of its key, expressions
			// and predicate.
			rows, err := e.pool.Query(context.Background(), `SELECT DISTINCT i.indexrelid::regclass::text, a.attname
				FROM pg_index i
				JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
					AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid > 0
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = d.refobjsubid
				WHERE i.indrelid = $1::regclass
				UNION
				SELECT i.indexrelid::regclass::text, a.attname
				FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
				WHERE i.indrelid = $1::regclass`, tc.table)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			seen := 0
			for rows.Next() {
				var index, column string
				if err := rows.Scan(&index, &column); err != nil {
					t.Fatal(err)
				}
				seen++
				if slices.Contains(tc.written, column) {
					t.Errorf("index %s covers %s.%s, which a battle step writes: the step is no HOT update", index, tc.table, column)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if seen == 0 {
				t.Fatalf("found no indexed column of %s: the query is wrong", tc.table)
			}
		})
	}
}
