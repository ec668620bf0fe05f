package commands

import (
	"fmt"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"
)

func TestTradeMenuPage(t *testing.T) {
	opts := func(n int) []discord.SelectOption {
		out := make([]discord.SelectOption, n)
		for i := range out {
			out[i].Value = fmt.Sprint(i)
		}
		return out
	}
	for _, tc := range []struct {
		name                  string
		options, page         int
		wantLen, wantAt, want int // options shown, page shown, pages
		first                 string
	}{
		{"none", 0, 0, 0, 0, 1, ""},
		{"one page", 25, 0, 25, 0, 1, "0"},
		{"second page", 60, 1, 25, 1, 3, "25"},
		{"last page partly full", 60, 2, 10, 2, 3, "50"},
		{"past the end clamps to the last", 30, 7, 5, 1, 2, "25"},
		{"negative clamps to the first", 30, -1, 25, 0, 2, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown, at, pages := tradeMenuPage(opts(tc.options), tc.page)
			if len(shown) != tc.wantLen || at != tc.wantAt || pages != tc.want {
				t.Fatalf("got %d options, page %d of %d; want %d, %d of %d", len(shown), at, pages, tc.wantLen, tc.wantAt, tc.want)
			}
			if len(shown) > 0 && shown[0].Value != tc.first {
				t.Fatalf("first option %q, want %q", shown[0].Value, tc.first)
			}
		})
	}
}
