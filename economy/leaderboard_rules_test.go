package economy

import (
	"errors"
	"testing"
)

func TestRarityWeight(t *testing.T) {
	for rank, want := range map[int]int64{-1: 0, 0: 1, 1: 2, 2: 5, 3: 10, 4: 25, 5: 100, 9: 100} {
		if got := rarityWeight(rank); got != want {
			t.Errorf("rarityWeight(%d) = %d, want %d", rank, got, want)
		}
	}
}

func TestBoardWindow(t *testing.T) {
	for _, tc := range []struct {
		page        int
		total       int64
		start, stop int64
		pages       int
		err         error
	}{
		{0, 0, 0, 9, 1, nil},
		{0, 25, 0, 9, 3, nil},
		{2, 25, 20, 29, 3, nil},
		{3, 25, 0, 0, 3, ErrBadPage},
		{-1, 25, 0, 0, 3, ErrBadPage},
		{99999, 1_000_000, 999990, 999999, 100000, nil},
	} {
		start, stop, pages, err := boardWindow(tc.page, tc.total)
		if start != tc.start || stop != tc.stop || pages != tc.pages || !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("boardWindow(%d, %d) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.page, tc.total,
				start, stop, pages, err, tc.start, tc.stop, tc.pages, tc.err)
		}
	}
}
