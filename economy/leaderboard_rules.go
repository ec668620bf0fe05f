package economy

import (
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// Board is a leaderboard.
type Board string

// The boards: a board is a name, a value per user read from PostgreSQL
// (boardValues) and the sorted sets the processor keeps.
const (
	BoardWealth     Board = "wealth"     // wallet + bank
	BoardCollection Board = "collection" // distinct collectibles found, weighted by rarity
	BoardCompanions Board = "companions" // the best level of a companion owned
	BoardBattles    Board = "battles"    // companion battles won
)

// Boards lists the boards in display order.
var Boards = []Board{BoardWealth, BoardCollection, BoardCompanions, BoardBattles}

// BoardPageSize is the number of rows on one page of a board.
const BoardPageSize = 10

// The leaderboard's refusals.
var (
	ErrUnknownBoard = refusal.New("board_unknown", "There is no such leaderboard: use wealth, collection, companions or battles.")
	ErrBoardsDown   = refusal.New("board_unavailable", "The leaderboards are not available right now; please try again soon.")
)

func validBoard(b Board) bool {
	for _, x := range Boards {
		if x == b {
			return true
		}
	}
	return false
}

// rarityWeights are the collection board's points for one distinct find,
// by rarity rank (common first); tiers past the table count as the last.
var rarityWeights = []int64{1, 2, 5, 10, 25, 100}

// rarityWeight is the collection points of a find of rarity rank.
func rarityWeight(rank int) int64 {
	switch {
	case rank < 0:
		return 0
	case rank >= len(rarityWeights):
		return rarityWeights[len(rarityWeights)-1]
	}
	return rarityWeights[rank]
}

// boardWindow is the 0-based rank range of page (0-based) and the page
// count for total entries.
func boardWindow(page int, total int64) (start, stop int64, pages int, err error) {
	pages = int(max(1, (total+BoardPageSize-1)/BoardPageSize))
	if page < 0 || page >= pages {
		return 0, 0, pages, ErrBadPage
	}
	start = int64(page) * BoardPageSize
	return start, start + BoardPageSize - 1, pages, nil
}
