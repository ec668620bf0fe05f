package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/dashboard"
)

// drainBoards moves the board outbox into Redis, as the node's processor
// does in the background.
func (e *env) drainBoards(t testing.TB) {
	t.Helper()
	for {
		n, err := e.boards.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestLeaderboardShowsNames: the dashboard's board is /leaderboard's
// global wealth board, with the names players were seen with.
func TestLeaderboardShowsNames(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	for _, g := range []struct {
		user   string
		amount int
	}{{id(e.alice), 700}, {id(e.bob), 900}} {
		if code, _ := admin.send("POST", "/api/admin/economy/credits", map[string]any{"user_id": g.user, "amount": g.amount, "reason": "board test"}, nil); code != 200 {
			t.Fatal(code)
		}
	}
	if err := e.econ.SeePlayer(context.Background(), 5, int64(e.alice.ID), "Alice the Bold"); err != nil {
		t.Fatal(err)
	}
	e.drainBoards(t)
	alice := e.login(t, e.alice)
	var board []dashboard.RankView
	alice.get("/api/leaderboard", &board)
	if len(board) != 2 || board[0].UserID != id(e.bob) || board[0].Rank != 1 || board[0].Name != "" ||
		board[1].Name != "Alice the Bold" || board[1].NetWorth != 700 || board[1].Rank != 2 {
		t.Fatalf("leaderboard = %+v", board)
	}
	page := body(alice.do("GET", "/leaderboard", nil, nil))
	if !strings.Contains(page, "Alice the Bold") || !strings.Contains(page, "an unnamed player") || strings.Contains(page, id(e.bob)) {
		t.Fatalf("page: %s", page)
	}
}
