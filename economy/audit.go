package economy

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Report is the outcome of Audit: the economy's invariants, measured.
type Report struct {
	Accounts            int64    // account rows
	Held                *big.Int // sum(wallet + bank) over accounts
	SystemLegs          *big.Int // sum of Mint and Sink legs
	UserLegsMismatch    int64    // accounts whose wallet+bank differs from the sum of their legs
	Negative            int64    // accounts with a negative wallet or bank
	Unbalanced          int64    // ledger transactions whose legs do not sum to zero
	OrphanLegs          int64    // legs without a transaction row
	DuplicateOps        int64    // operation IDs stored more than once
	ItemMismatches      int64    // (owner, item) pairs whose row count differs from their item legs
	ItemsMisplaced      int64    // item IDs in more than one place, or escrow disagreeing with its listings
	CompanionsMisplaced int64    // companions in escrow without one open listing, or open listings without theirs
	EscrowMismatch      int64    // battle escrow legs minus the escrow of open battles (battle.go)
	Transactions        int64    // operation rows
}

// OK reports whether every invariant holds.
func (r Report) OK() bool { return r.Err() == nil }

// Err describes the broken invariants, or is nil.
func (r Report) Err() error {
	var bad []string
	if r.Held == nil || r.SystemLegs == nil || new(big.Int).Add(r.Held, r.SystemLegs).Sign() != 0 {
		bad = append(bad, fmt.Sprintf("sum(wallet+bank)=%d + sum(system legs)=%d != 0", r.Held, r.SystemLegs))
	}
	for _, c := range []struct {
		n    int64
		what string
	}{
		{r.UserLegsMismatch, "accounts disagree with their legs"},
		{r.Negative, "negative balances"},
		{r.Unbalanced, "unbalanced ledger transactions"},
		{r.OrphanLegs, "legs without a transaction"},
		{r.DuplicateOps, "operations applied twice"},
		{r.ItemMismatches, "item counts disagree with the item ledger"},
		{r.ItemsMisplaced, "items misplaced (in two places, or escrow disagreeing with listings)"},
		{r.CompanionsMisplaced, "companions misplaced (escrow disagreeing with companion listings)"},
		{r.EscrowMismatch, "credits in battle escrow that no open battle holds"},
	} {
		if c.n != 0 {
			bad = append(bad, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("economy audit: %s", strings.Join(bad, "; "))
}

// Audit checks the economy invariants in one consistent snapshot:
// sum(wallet + bank) + sum(system legs) = 0, each account equals the sum of
// its legs, no negative balance, every ledger transaction balances, no
// operation applied twice, item rows match the item ledger, and the battle
// escrow account holds exactly the escrow of the open battles. It reads
// everything, so run it in tests and checks, not per request.
func Audit(ctx context.Context, pool *pgxpool.Pool) (Report, error) {
	var r Report
	tx, err := pool.Begin(ctx)
	if err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	var held, system string
	queries := []struct {
		sql  string
		dest []any
	}{
		{`SELECT count(*), coalesce(sum(wallet::numeric + bank), 0)::text,
		         count(*) FILTER (WHERE wallet < 0 OR bank < 0) FROM economy.accounts`, []any{&r.Accounts, &held, &r.Negative}},
		{`SELECT coalesce(sum(amount), 0)::text FROM economy.ledger_legs WHERE account_id < 0`, []any{&system}},
		{`SELECT count(*) FROM (
			SELECT a.user_id FROM economy.accounts a
			LEFT JOIN (SELECT account_id, sum(amount) AS s FROM economy.ledger_legs WHERE account_id > 0 GROUP BY account_id) l
			  ON l.account_id = a.user_id
			WHERE a.wallet::numeric + a.bank <> coalesce(l.s, 0)
			UNION ALL
			SELECT l.account_id FROM economy.ledger_legs l LEFT JOIN economy.accounts a ON a.user_id = l.account_id
			WHERE l.account_id > 0 AND a.user_id IS NULL) x`, []any{&r.UserLegsMismatch}},
		{`SELECT count(*) FROM (SELECT tx_id FROM economy.ledger_legs GROUP BY tx_id HAVING sum(amount) <> 0) x`, []any{&r.Unbalanced}},
		{`SELECT count(*) FROM economy.ledger_legs l WHERE NOT EXISTS (SELECT 1 FROM economy.transactions t WHERE t.id = l.tx_id)`, []any{&r.OrphanLegs}},
		{`SELECT count(*), count(*) - count(DISTINCT op_id) FROM economy.transactions`, []any{&r.Transactions, &r.DuplicateOps}},
		{`SELECT count(*) FROM (
			SELECT coalesce(i.owner_id, l.owner_id), coalesce(i.item_key, l.item_key)
			FROM (SELECT owner_id, item_key, count(*) AS n FROM economy.item_places GROUP BY 1, 2) i
			FULL JOIN (SELECT owner_id, item_key, sum(delta) AS n FROM economy.item_legs GROUP BY 1, 2) l
			  ON i.owner_id = l.owner_id AND i.item_key = l.item_key
			WHERE coalesce(i.n, 0) <> coalesce(l.n, 0)) x`, []any{&r.ItemMismatches}},
		{itemPlacesAudit, []any{&r.ItemsMisplaced}},
		{companionPlacesAudit, []any{&r.CompanionsMisplaced}},
		{`SELECT ((SELECT coalesce(sum(amount), 0) FROM economy.ledger_legs WHERE account_id = -7)
			- (SELECT coalesce(sum(escrow), 0) FROM economy.battles))::bigint`, []any{&r.EscrowMismatch}},
	}
	for _, q := range queries {
		if err := tx.QueryRow(ctx, q.sql).Scan(q.dest...); err != nil {
			return r, fmt.Errorf("audit: %w", err)
		}
	}
	var ok1, ok2 bool
	r.Held, ok1 = new(big.Int).SetString(held, 10)
	r.SystemLegs, ok2 = new(big.Int).SetString(system, 10)
	if !ok1 || !ok2 {
		return r, fmt.Errorf("audit: sums %q and %q are not integers", held, system)
	}
	return r, tx.Commit(ctx)
}
