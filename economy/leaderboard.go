package economy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Leaderboards serves the boards from Redis sorted sets: a page or a rank
// costs O(log n). The sets are kept from PostgreSQL through the board
// outbox (see migrations/005_leaderboard.sql) by Run, and rebuilt from
// PostgreSQL when Redis lost them.
type Leaderboards struct {
	svc    *Service
	rdb    redis.UniversalClient
	prefix string
	batch  int
	poll   time.Duration
}

// NewLeaderboards returns the boards of svc's economy on rdb.
func NewLeaderboards(svc *Service, rdb redis.UniversalClient) *Leaderboards {
	return &Leaderboards{svc: svc, rdb: rdb, prefix: BoardKeyPrefix, batch: 1000, poll: 100 * time.Millisecond}
}

// BoardKeyPrefix begins the Redis keys of the boards. Its hash tag puts
// every board and the names in one Redis Cluster slot, so that a page is
// one script over them.
const BoardKeyPrefix = "chopsticks:{board}:"

// boardLock is the advisory lock that lets one processor at a time write
// the sets, so that later values are never overwritten by earlier ones.
const boardLock = 0x63686f70_626f6172 // "chopboar"

func (l *Leaderboards) key(b Board, guild int64) string {
	if guild == 0 {
		return l.prefix + string(b)
	}
	return l.prefix + string(b) + ":" + strconv.FormatInt(guild, 10)
}

func (l *Leaderboards) builtKey() string { return l.prefix + "built" }

// namesKey is the hash of player names (user ID to name) the processor
// copies from economy.player_names.
func (l *Leaderboards) namesKey() string { return l.prefix + "names" }

// names returns the names of ids from Redis: one round trip.
func (l *Leaderboards) names(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = strconv.FormatInt(id, 10)
	}
	vals, err := l.rdb.HMGet(ctx, l.namesKey(), fields...).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBoardsDown, err)
	}
	for i, v := range vals {
		if name, ok := v.(string); ok {
			out[ids[i]] = name
		}
	}
	return out, nil
}

// BoardEntry is one player on a board.
type BoardEntry struct {
	Rank   int64 // 1-based
	UserID int64
	Name   string // "" when the player was never seen
	Value  int64
}

// BoardPage is one page of a board, with the caller's own entry.
type BoardPage struct {
	Board Board
	Guild int64 // 0: global
	Rows  []BoardEntry
	Page  int // 0-based
	Pages int
	Total int64
	You   *BoardEntry // nil when the caller is not on the board
}

// Page returns page (0-based) of board in guild (0: global) and caller's
// own rank and value.
func (l *Leaderboards) Page(ctx context.Context, board Board, guild int64, page int, caller int64) (BoardPage, error) {
	if !validBoard(board) {
		return BoardPage{}, ErrUnknownBoard
	}
	if page < 0 {
		return BoardPage{}, ErrBadPage
	}
	key := l.key(board, guild)
	out := BoardPage{Board: board, Guild: guild, Page: page}
	member := strconv.FormatInt(caller, 10)
	start := int64(page) * BoardPageSize
	// One round trip: the size, the page, the caller's rank and value and
	// everyone's names, read by pageScript.
	res, err := pageScript.Run(ctx, l.rdb, []string{key, l.namesKey()}, start, start+BoardPageSize-1, member).Slice()
	if err != nil {
		return BoardPage{}, fmt.Errorf("%w: %w", ErrBoardsDown, err)
	}
	rng, names, ok := pageReply(res)
	if !ok {
		return BoardPage{}, fmt.Errorf("%w: unexpected page reply %v", ErrBoardsDown, res)
	}
	out.Total = res[0].(int64)
	if _, _, out.Pages, err = boardWindow(page, out.Total); err != nil {
		return BoardPage{}, err
	}
	for i := 0; i+1 < len(rng); i += 2 {
		id, _ := strconv.ParseInt(fmt.Sprint(rng[i]), 10, 64)
		out.Rows = append(out.Rows, BoardEntry{Rank: start + int64(i/2) + 1, UserID: id, Value: scoreValue(rng[i+1]),
			Name: nameAt(names, i/2+1)})
	}
	if rank, ok := res[2].(int64); ok {
		out.You = &BoardEntry{Rank: rank + 1, UserID: caller, Value: scoreValue(res[3]), Name: nameAt(names, 0)}
	}
	return out, nil
}

// pageScript reads one page of a board: KEYS[1] the board, KEYS[2] the
// names; ARGV the first and last rank (0-based) and the caller. It returns
// the board's size, the page as member, score pairs, the caller's rank and
// score (nil when not on the board) and the names of the caller and then
// of the page's players.
var pageScript = redis.NewScript(`
local card = redis.call('ZCARD', KEYS[1])
local rng = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[3])
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
local ids = {ARGV[3]}
for i = 1, #rng, 2 do ids[#ids + 1] = rng[i] end
return {card, rng, rank, score, redis.call('HMGET', KEYS[2], unpack(ids))}
`)

// pageReply picks the page and the names out of pageScript's reply.
func pageReply(res []any) (rng, names []any, ok bool) {
	if len(res) != 5 {
		return nil, nil, false
	}
	if _, ok := res[0].(int64); !ok {
		return nil, nil, false
	}
	rng, ok1 := res[1].([]any)
	names, ok2 := res[4].([]any)
	return rng, names, ok1 && ok2
}

// scoreValue is a board value from a score as Redis writes it.
func scoreValue(v any) int64 {
	f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
	return int64(f)
}

// nameAt is names[i] when it is a name, or "".
func nameAt(names []any, i int) string {
	if i < len(names) {
		if s, ok := names[i].(string); ok {
			return s
		}
	}
	return ""
}

// SeePlayer records that user, named name, uses the bot in guild (0: in
// direct messages): the guild's boards hold the user from now on. It is
// cheap to repeat but still a write: callers cache it.
func (s *Service) SeePlayer(ctx context.Context, guild, user int64, name string) error {
	if user <= 0 {
		return ErrBadUser
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	b := &pgx.Batch{}
	if name != "" {
		b.Queue(`INSERT INTO economy.player_names (user_id, name) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
			WHERE economy.player_names.name <> EXCLUDED.name`, user, name)
	}
	if guild > 0 {
		// A new member of a server's board gets their values there.
		b.Queue(`WITH seen AS (INSERT INTO economy.players_seen (guild_id, user_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING RETURNING user_id)
			INSERT INTO economy.board_outbox (user_id) SELECT user_id FROM seen`, guild, user)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("see player: %w", err)
	}
	return nil
}

// Process moves one batch of the board outbox into the sorted sets and
// reports how many outbox rows it handled; 0 when another node holds the
// processor's lock or nothing is queued.
func (l *Leaderboards) Process(ctx context.Context) (int, error) {
	tx, err := l.svc.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("boards: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(boardLock)).Scan(&locked); err != nil || !locked {
		return 0, wrapBoards(err)
	}
	rows, err := tx.Query(ctx, `SELECT id, user_id FROM economy.board_outbox ORDER BY id LIMIT $1`, l.batch)
	if err != nil {
		return 0, fmt.Errorf("boards: %w", err)
	}
	var ids, users []int64
	seen := map[int64]bool{}
	for rows.Next() {
		var id, user int64
		if err := rows.Scan(&id, &user); err != nil {
			return 0, fmt.Errorf("boards: %w", err)
		}
		ids = append(ids, id)
		if !seen[user] {
			seen[user] = true
			users = append(users, user)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("boards: %w", err)
	}
	if len(ids) == 0 {
		return 0, tx.Commit(ctx)
	}
	if err := l.write(ctx, tx, users); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM economy.board_outbox WHERE id = ANY($1)`, ids); err != nil {
		return 0, fmt.Errorf("boards: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("boards: %w", err)
	}
	return len(ids), nil
}

func wrapBoards(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("boards: %w", err)
}

// write sets users' current values on every board, globally and in each
// server they were seen in.
func (l *Leaderboards) write(ctx context.Context, tx pgx.Tx, users []int64) error {
	values, err := l.svc.boardValues(ctx, tx, users)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT user_id, guild_id FROM economy.players_seen WHERE user_id = ANY($1)`, users)
	if err != nil {
		return fmt.Errorf("boards: %w", err)
	}
	guilds := map[int64][]int64{}
	for rows.Next() {
		var u, g int64
		if err := rows.Scan(&u, &g); err != nil {
			return fmt.Errorf("boards: %w", err)
		}
		guilds[u] = append(guilds[u], g)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("boards: %w", err)
	}
	pipe := l.rdb.Pipeline()
	rows, err = tx.Query(ctx, `SELECT user_id, name FROM economy.player_names WHERE user_id = ANY($1)`, users)
	if err != nil {
		return fmt.Errorf("boards: %w", err)
	}
	var names []any
	for rows.Next() {
		var u int64
		var name string
		if err := rows.Scan(&u, &name); err != nil {
			return fmt.Errorf("boards: %w", err)
		}
		names = append(names, strconv.FormatInt(u, 10), name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("boards: %w", err)
	}
	if len(names) > 0 {
		pipe.HSet(ctx, l.namesKey(), names...)
	}
	// One ZADD and one ZREM per board key for the whole batch, not one
	// command per user and key: most of Redis's work was these calls.
	adds, rems := map[string][]redis.Z{}, map[string][]any{}
	for _, b := range Boards {
		for _, u := range users {
			// A board holds the players with something to show on it.
			v, member := values[b][u], strconv.FormatInt(u, 10)
			for _, key := range append([]string{l.key(b, 0)}, guildKeys(l, b, guilds[u])...) {
				if v > 0 {
					adds[key] = append(adds[key], redis.Z{Score: float64(v), Member: member})
				} else {
					rems[key] = append(rems[key], member)
				}
			}
		}
	}
	// A player is added to a key or removed from it, never both: the
	// commands' order does not matter.
	for key, zs := range adds {
		pipe.ZAdd(ctx, key, zs...)
	}
	for key, ms := range rems {
		pipe.ZRem(ctx, key, ms...)
	}
	// Not cancellable: a batch cut off after its commands left would still
	// land in Redis, possibly after a later processor's newer values, and
	// leave the boards stale. The client's timeouts bound it.
	if _, err := pipe.Exec(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("%w: %w", ErrBoardsDown, err)
	}
	return nil
}

func guildKeys(l *Leaderboards, b Board, guilds []int64) []string {
	out := make([]string, len(guilds))
	for i, g := range guilds {
		out[i] = l.key(b, g)
	}
	return out
}

// boardValues reads each board's value for users: wealth is wallet + bank
// (saturated at int64), collection the rarity points of distinct finds,
// companions the best level of a companion owned, battles the wins.
func (s *Service) boardValues(ctx context.Context, tx pgx.Tx, users []int64) (map[Board]map[int64]int64, error) {
	out := map[Board]map[int64]int64{BoardWealth: {}, BoardCollection: {}, BoardCompanions: {}, BoardBattles: {}}
	rows, err := tx.Query(ctx, `SELECT user_id, least(wallet::numeric + bank, 9223372036854775807)::bigint
		FROM economy.accounts WHERE user_id = ANY($1)`, users)
	if err != nil {
		return nil, fmt.Errorf("boards: %w", err)
	}
	if err := collectInto(rows, out[BoardWealth]); err != nil {
		return nil, err
	}
	var keys []string
	var weights []int64
	for _, it := range s.cat.Items {
		if it.Type == TypeCollectible {
			rank, _ := s.cat.RarityRank(it.Rarity)
			keys, weights = append(keys, it.Key), append(weights, rarityWeight(rank))
		}
	}
	rows, err = tx.Query(ctx, `SELECT c.user_id, sum(w.weight)::bigint FROM economy.collection c
		JOIN unnest($2::text[], $3::bigint[]) AS w(item_key, weight) ON w.item_key = c.item_key
		WHERE c.user_id = ANY($1) GROUP BY c.user_id`, users, keys, weights)
	if err != nil {
		return nil, fmt.Errorf("boards: %w", err)
	}
	if err := collectInto(rows, out[BoardCollection]); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT owner_id, max(xp) FROM economy.companions WHERE owner_id = ANY($1) GROUP BY owner_id`, users)
	if err != nil {
		return nil, fmt.Errorf("boards: %w", err)
	}
	if err := collectInto(rows, out[BoardCompanions]); err != nil {
		return nil, err
	}
	for u, xp := range out[BoardCompanions] {
		out[BoardCompanions][u] = int64(levelFor(xp, s.cat.Companions.MaxLevel))
	}
	rows, err = tx.Query(ctx, `SELECT winner, count(*) FROM economy.battle_wins WHERE winner = ANY($1) GROUP BY winner`, users)
	if err != nil {
		return nil, fmt.Errorf("boards: %w", err)
	}
	if err := collectInto(rows, out[BoardBattles]); err != nil {
		return nil, err
	}
	return out, nil
}

func collectInto(rows pgx.Rows, m map[int64]int64) error {
	defer rows.Close()
	for rows.Next() {
		var u, v int64
		if err := rows.Scan(&u, &v); err != nil {
			return fmt.Errorf("boards: %w", err)
		}
		m[u] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("boards: %w", err)
	}
	return nil
}

// Rebuild writes every account's values to the sets from PostgreSQL, in
// batches, under the processor's lock (it waits for it), then marks the
// sets built. Values never go missing meanwhile: it only adds.
func (l *Leaderboards) Rebuild(ctx context.Context) error {
	// READ COMMITTED: each batch reads values at least as new as any a
	// processor wrote before the lock was ours.
	tx, err := l.svc.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("boards rebuild: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(boardLock)); err != nil {
		return fmt.Errorf("boards rebuild: %w", err)
	}
	after := int64(0)
	for {
		rows, err := tx.Query(ctx, `SELECT user_id FROM economy.accounts WHERE user_id > $1 ORDER BY user_id LIMIT $2`, after, 5000)
		if err != nil {
			return fmt.Errorf("boards rebuild: %w", err)
		}
		users, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("boards rebuild: %w", err)
		}
		if len(users) == 0 {
			break
		}
		if err := l.write(ctx, tx, users); err != nil {
			return err
		}
		after = users[len(users)-1]
	}
	if err := l.rdb.Set(ctx, l.builtKey(), time.Now().UTC().Format(time.RFC3339), 0).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBoardsDown, err)
	}
	return tx.Commit(ctx)
}

// Run keeps the sets: it rebuilds them when Redis does not have them (a
// new or flushed Redis) and then moves the outbox into them, polling every
// 100 ms, until ctx ends. Every node runs one; one processes at a time.
// Errors go to report and the loop goes on.
func (l *Leaderboards) Run(ctx context.Context, report func(error)) {
	t := time.NewTicker(l.poll)
	defer t.Stop()
	var reported time.Time
	for {
		err := l.step(ctx)
		// A Redis outage fails every step: say so every 30 s, not 10 times a second.
		if err != nil && ctx.Err() == nil && report != nil && time.Since(reported) >= 30*time.Second {
			reported = time.Now()
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step rebuilds when needed, then drains the outbox.
func (l *Leaderboards) step(ctx context.Context) error {
	n, err := l.rdb.Exists(ctx, l.builtKey()).Result()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBoardsDown, err)
	}
	if n == 0 {
		if err := l.Rebuild(ctx); err != nil {
			return err
		}
	}
	for {
		done, err := l.Process(ctx)
		if err != nil || done < l.batch {
			return err
		}
	}
}

// Top returns the limit (1..MaxLeaderboard) richest players of the global
// wealth board, with names, for the dashboard: the same source as
// /leaderboard.
func (l *Leaderboards) Top(ctx context.Context, limit int) ([]BoardEntry, error) {
	if limit < 1 || limit > MaxLeaderboard {
		return nil, ErrBadLimit
	}
	zs, err := l.rdb.ZRevRangeWithScores(ctx, l.key(BoardWealth, 0), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBoardsDown, err)
	}
	out := make([]BoardEntry, 0, len(zs))
	var ids []int64
	for i, z := range zs {
		id, _ := strconv.ParseInt(z.Member.(string), 10, 64)
		out = append(out, BoardEntry{Rank: int64(i) + 1, UserID: id, Value: int64(z.Score)})
		ids = append(ids, id)
	}
	names, err := l.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Name = names[out[i].UserID]
	}
	return out, nil
}
