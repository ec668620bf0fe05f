package sandbox

import (
	"reflect"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"
)

func TestParseTyping(t *testing.T) {
	cmds := []discord.Command{
		{Name: "sell", Options: discord.CommandOptions{
			&discord.StringOption{OptionName: "item", Required: true, Autocomplete: true},
			&discord.IntegerOption{OptionName: "quantity"},
		}},
		{Name: "vault", Options: discord.CommandOptions{
			&discord.SubcommandOption{OptionName: "add", Options: []discord.CommandOptionValue{
				&discord.StringOption{OptionName: "item", Required: true, Autocomplete: true},
			}},
		}},
		{Name: "pay", Options: discord.CommandOptions{&discord.StringOption{OptionName: "amount", Required: true}}},
	}
	none := func(string) (discord.UserID, bool) { return 0, false }
	tests := []struct {
		text string
		want *typing // nil: nothing to complete
	}{
		{"/sell iron p", &typing{parsedCommand{Name: "sell"}, "item", "iron p"}},
		{"/sell item:iro", &typing{parsedCommand{Name: "sell"}, "item", "iro"}},
		{"/sell quantity:2 item:iro", &typing{parsedCommand{Name: "sell", Options: []typedOption{{"quantity", discord.IntegerOptionType, int64(2)}}}, "item", "iro"}},
		{"/sell ", &typing{parsedCommand{Name: "sell"}, "item", ""}},
		{"/vault add gold", &typing{parsedCommand{Name: "vault", Subcommand: "add"}, "item", "gold"}},
		{"/sell", nil},
		{"/pay 10", nil},          // amount has no autocomplete
		{"/sell quantity:4", nil}, // quantity has none
		{"/nope x", nil},          // no such command
		{`/sell "iron`, nil},      // an open quote
	}
	for _, tc := range tests {
		got, err := parseTyping(tc.text, cmds, none)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%q: %+v, want nothing to complete", tc.text, got)
		case tc.want != nil && err != nil:
			t.Errorf("%q: %v", tc.text, err)
		case tc.want != nil && !reflect.DeepEqual(got, *tc.want):
			t.Errorf("%q: %+v, want %+v", tc.text, got, *tc.want)
		}
	}
}
