package economy_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// drain processes the board outbox until it is empty.
func drain(t testing.TB, l *economy.Leaderboards) {
	t.Helper()
	for {
		n, err := l.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func newBoards(t testing.TB, e *env) (*economy.Leaderboards, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	return economy.NewLeaderboards(e.svc, rdb), rdb
}

func TestLeaderboards(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l, rdb := newBoards(t, e)
	const guild = 500
	for u := int64(1); u <= 25; u++ {
		e.fund(t, u, 1000*u)
		if err := e.svc.SeePlayer(ctx, guild+u%2, u, fmt.Sprintf("player%d", u)); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, l)

	p, err := l.Page(ctx, economy.BoardWealth, 0, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 25 || p.Pages != 3 || len(p.Rows) != 10 || p.Rows[0].UserID != 25 || p.Rows[0].Name != "player25" || p.Rows[0].Value != 25000 || p.Rows[9].Rank != 10 {
		t.Fatalf("first page: %+v", p)
	}
	if p.You == nil || p.You.Rank != 23 || p.You.Value != 3000 || p.You.Name != "player3" {
		t.Fatalf("caller off the page: %+v", p.You)
	}
	// The server's board holds only the players seen there.
	g, err := l.Page(ctx, economy.BoardWealth, guild, 0, 2)
	if err != nil || g.Total != 12 || g.Rows[0].UserID != 24 || g.You == nil || g.You.Rank != 12 {
		t.Fatalf("server board: %+v %v", g, err)
	}
	if _, err := l.Page(ctx, economy.BoardWealth, 0, 3, 1); !errors.Is(err, economy.ErrBadPage) {
		t.Fatalf("page past the end: %v", err)
	}
	if _, err := l.Page(ctx, "karma", 0, 0, 1); !errors.Is(err, economy.ErrUnknownBoard) {
		t.Fatalf("unknown board: %v", err)
	}

	// A payment moves both players once the outbox is processed.
	if _, err := e.svc.Pay(ctx, economy.PayRequest{Op: op(), From: 1, To: 2, Amount: economy.Amount{Value: 1000}}); err != nil {
		t.Fatal(err)
	}
	drain(t, l)
	if p, _ := l.Page(ctx, economy.BoardWealth, 0, 2, 2); p.You.Value != 3000 || p.You.Rank != 24 { // tied with player 3, listed first
		t.Fatalf("after pay, player 2: %+v", p.You)
	}

	// The collection board weighs distinct finds by rarity.
	giveFind := func(user int64, key string) {
		if _, err := e.pool.Exec(ctx, `INSERT INTO economy.collection (user_id, item_key, found, first_found_at) VALUES ($1, $2, 1, now())`, user, key); err != nil {
			t.Fatal(err)
		}
	}
	giveFind(7, "pebble")     // common: 1
	giveFind(7, "star_shard") // mythic: 100
	giveFind(8, "ruby")       // epic: 10
	drain(t, l)
	c, err := l.Page(ctx, economy.BoardCollection, 0, 0, 8)
	if err != nil || c.Rows[0].UserID != 7 || c.Rows[0].Value != 101 || c.You.Rank != 2 || c.You.Value != 10 {
		t.Fatalf("collection board: %+v %v", c, err)
	}

	// Redis loses everything: a rebuild from PostgreSQL restores the boards.
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := l.Page(ctx, economy.BoardWealth, 0, 0, 3)
	if err != nil || again.Total != 24 || again.Rows[0] != p.Rows[0] || again.You.Rank != 23 { // player 1 has nothing left
		t.Fatalf("after rebuild: %+v %v", again, err)
	}
	if g2, _ := l.Page(ctx, economy.BoardCollection, guild+1, 0, 7); g2.You == nil || g2.You.Value != 101 {
		t.Fatalf("server collection board after rebuild: %+v", g2)
	}
}

// TestLeaderboardProcessorsAgree runs two nodes' processors while
// payments go on, then checks every set value against PostgreSQL.
func TestLeaderboardProcessorsAgree(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	l1, rdb := newBoards(t, e)
	l2 := economy.NewLeaderboards(other, rdb)
	const users = 20
	for u := int64(1); u <= users; u++ {
		e.fund(t, u, 10_000)
	}
	var wg sync.WaitGroup
	for _, l := range []*economy.Leaderboards{l1, l2} {
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx, func(err error) { t.Error(err) }) }()
	}
	for i := 0; i < 300; i++ {
		from, to := int64(i%users)+1, int64((i*7)%users)+1
		if from == to {
			continue
		}
		if _, err := e.svc.Pay(context.Background(), economy.PayRequest{Op: op(), From: from, To: to, Amount: economy.Amount{Value: int64(i%50 + 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	// A processor cancelled mid-query leaves its connection, and the
	// processors' lock, to the server for a moment: Process then reports 0
	// although rows wait. Drain until the outbox is empty.
	poll.Eventually(t, 10*time.Second, func() bool {
		drain(t, l1)
		var left int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM economy.board_outbox`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left == 0
	}, "the board outbox drained")
	for u := int64(1); u <= users; u++ {
		got, err := rdb.ZScore(context.Background(), economy.BoardKeyPrefix+"wealth", fmt.Sprint(u)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := e.balance(t, u).NetWorth(); int64(got) != want {
			t.Errorf("user %d: board says %v, PostgreSQL %d", u, got, want)
		}
	}
}

// TestLeaderboardPageOnRedisCluster: a page is one script over the board
// and the names, so they must share a Cluster slot (the key prefix's hash
// tag); the page reads the same as on one server.
func TestLeaderboardPageOnRedisCluster(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rc := servertest.RedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	t.Cleanup(func() { rdb.Close() })
	l := economy.NewLeaderboards(e.svc, rdb)
	for u := int64(1); u <= 12; u++ {
		e.fund(t, u, 100*u)
		if err := e.svc.SeePlayer(ctx, 0, u, fmt.Sprintf("player%d", u)); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, l)
	for _, tc := range []struct {
		name   string
		page   int
		caller int64
		first  economy.BoardEntry
		rows   int
		you    *economy.BoardEntry
	}{
		{"first page, caller off it", 0, 1, economy.BoardEntry{Rank: 1, UserID: 12, Name: "player12", Value: 1200}, 10,
			&economy.BoardEntry{Rank: 12, UserID: 1, Name: "player1", Value: 100}},
		{"second page", 1, 11, economy.BoardEntry{Rank: 11, UserID: 2, Name: "player2", Value: 200}, 2,
			&economy.BoardEntry{Rank: 2, UserID: 11, Name: "player11", Value: 1100}},
		{"caller not on the board", 0, 99, economy.BoardEntry{Rank: 1, UserID: 12, Name: "player12", Value: 1200}, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := l.Page(ctx, economy.BoardWealth, 0, tc.page, tc.caller)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != 12 || p.Pages != 2 || len(p.Rows) != tc.rows || p.Rows[0] != tc.first {
				t.Fatalf("page %+v", p)
			}
			if (p.You == nil) != (tc.you == nil) || p.You != nil && *p.You != *tc.you {
				t.Fatalf("caller %+v, want %+v", p.You, tc.you)
			}
		})
	}
}

// TestCompanionAndBattleBoards: the companions board ranks the best level
// of a companion owned, the battles board the wins; both follow changes
// through the board outbox.
func TestCompanionAndBattleBoards(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l, _ := newBoards(t, e)
	const a, b, c = 441, 442, 443
	for _, u := range []int64{a, b, c} {
		e.fund(t, u, 10)
	}
	addCompanion(t, e, a, "scout", 19_000, 1)        // level 20
	weak := addCompanion(t, e, b, "scout", 4_500, 1) // level 10
	addCompanion(t, e, b, "worker", 0, 1)
	wonBattle(t, e, b, a)
	wonBattle(t, e, b, c)
	wonBattle(t, e, c, a)
	drain(t, l)
	rows := func(board economy.Board) []economy.BoardEntry {
		t.Helper()
		p, err := l.Page(ctx, board, 0, 0, a)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Rows {
			p.Rows[i].Name = ""
		}
		return p.Rows
	}
	for _, tc := range []struct {
		name  string
		board economy.Board
		want  []economy.BoardEntry
	}{
		{"companions", economy.BoardCompanions, []economy.BoardEntry{{Rank: 1, UserID: a, Value: 20}, {Rank: 2, UserID: b, Value: 10}}},
		{"battles", economy.BoardBattles, []economy.BoardEntry{{Rank: 1, UserID: b, Value: 2}, {Rank: 2, UserID: c, Value: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rows(tc.board); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("board %v, want %v", got, tc.want)
			}
		})
	}
	// b's companion gains XP past a's; a's is handed to c.
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET xp = 50 * 25 * 24 WHERE id = $1`, weak); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET owner_id = $2 WHERE owner_id = $1`, a, c); err != nil {
		t.Fatal(err)
	}
	drain(t, l)
	want := []economy.BoardEntry{{Rank: 1, UserID: b, Value: 25}, {Rank: 2, UserID: c, Value: 20}}
	if got := rows(economy.BoardCompanions); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the changes %v, want %v", got, want)
	}
}

// TestBoardBatchWritesEachKeyOnce: a processed batch sends one ZADD or
// ZREM per board key, not one per player and key, so Redis's load does
// not grow with the batch.
func TestBoardBatchWritesEachKeyOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l, rdb := newBoards(t, e)
	const players, guild = 30, 700
	for u := int64(1); u <= players; u++ {
		if u%3 != 0 { // every third player has nothing: removed, not added
			e.fund(t, u, 100*u)
		}
		if err := e.svc.SeePlayer(ctx, guild+u%2, u, fmt.Sprintf("player%d", u)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	drain(t, l)
	stats, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := func(cmd string) int {
		_, rest, ok := strings.Cut(stats, "cmdstat_"+cmd+":calls=")
		if !ok {
			return 0
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		return n
	}
	// Each board has a global key and one per server: 3 keys, each
	// written by at most one ZADD and one ZREM per batch.
	limit := len(economy.Boards) * 3 * 2
	if got := calls("zadd") + calls("zrem"); got == 0 || got > limit {
		t.Fatalf("%d ZADD and ZREM calls for %d players, want 1 to %d (one per key and kind)", got, players, limit)
	}
	if got := calls("hset"); got != 1 {
		t.Fatalf("%d HSET calls for the names, want 1", got)
	}
	p, err := l.Page(ctx, economy.BoardWealth, 0, 0, 2)
	if err != nil || p.Total != players-players/3 || p.You == nil || p.You.Value != 200 {
		t.Fatalf("wealth board after the batch: %+v %v", p, err)
	}
}
