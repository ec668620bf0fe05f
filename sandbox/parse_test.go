package sandbox

import (
	"reflect"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"
)

func TestParseCommand(t *testing.T) {
	cmds := []discord.Command{
		{Name: "play", Options: discord.CommandOptions{
			&discord.StringOption{OptionName: "query", Required: true},
			&discord.IntegerOption{OptionName: "pick"},
		}},
		{Name: "pay", Options: discord.CommandOptions{
			&discord.UserOption{OptionName: "user", Required: true},
			&discord.StringOption{OptionName: "amount", Required: true},
		}},
		{Name: "companion", Options: discord.CommandOptions{
			&discord.SubcommandOption{OptionName: "learn", Options: []discord.CommandOptionValue{
				&discord.StringOption{OptionName: "companion", Required: true},
				&discord.StringOption{OptionName: "skill", Required: true},
			}},
			&discord.SubcommandOption{OptionName: "view", Options: []discord.CommandOptionValue{
				&discord.StringOption{OptionName: "companion", Required: true},
				&discord.UserOption{OptionName: "user"},
			}},
		}},
		{Name: "bank", Options: discord.CommandOptions{
			&discord.SubcommandOption{OptionName: "deposit", Options: []discord.CommandOptionValue{
				&discord.StringOption{OptionName: "amount", Required: true},
			}},
		}},
	}
	users := func(name string) (discord.UserID, bool) {
		if name == "bob" {
			return 42, true
		}
		return 0, false
	}
	tests := []struct {
		text    string
		want    parsedCommand
		wantErr bool
	}{
		{"/play lofi beats", parsedCommand{Name: "play", Options: []typedOption{{"query", discord.StringOptionType, "lofi beats"}}}, false},
		{"/play lofi beats 2", parsedCommand{Name: "play", Options: []typedOption{
			{"query", discord.StringOptionType, "lofi beats"}, {"pick", discord.IntegerOptionType, int64(2)}}}, false},
		{`/play "lofi 2" pick:3`, parsedCommand{Name: "play", Options: []typedOption{
			{"query", discord.StringOptionType, "lofi 2"}, {"pick", discord.IntegerOptionType, int64(3)}}}, false},
		{"/pay bob 1.5k", parsedCommand{Name: "pay", Options: []typedOption{
			{"user", discord.UserOptionType, "42"}, {"amount", discord.StringOptionType, "1.5k"}}}, false},
		{"/pay amount:10 user:@bob", parsedCommand{Name: "pay", Options: []typedOption{
			{"amount", discord.StringOptionType, "10"}, {"user", discord.UserOptionType, "42"}}}, false},
		{"/bank deposit all", parsedCommand{Name: "bank", Subcommand: "deposit", Options: []typedOption{
			{"amount", discord.StringOptionType, "all"}}}, false},
		// Each required text option still to come keeps one word.
		{"/companion learn #1 overtime", parsedCommand{Name: "companion", Subcommand: "learn", Options: []typedOption{
			{"companion", discord.StringOptionType, "#1"}, {"skill", discord.StringOptionType, "overtime"}}}, false},
		{"/companion learn Worker Bot hammer", parsedCommand{Name: "companion", Subcommand: "learn", Options: []typedOption{
			{"companion", discord.StringOptionType, "Worker Bot"}, {"skill", discord.StringOptionType, "hammer"}}}, false},
		{"/companion learn Worker Bot skill:hammer", parsedCommand{Name: "companion", Subcommand: "learn", Options: []typedOption{
			{"companion", discord.StringOptionType, "Worker Bot"}, {"skill", discord.StringOptionType, "hammer"}}}, false},
		{"/companion view Worker Bot bob", parsedCommand{Name: "companion", Subcommand: "view", Options: []typedOption{
			{"companion", discord.StringOptionType, "Worker Bot"}, {"user", discord.UserOptionType, "42"}}}, false},
		{"/pay carol 10", parsedCommand{}, true},
		{"/bank steal 10", parsedCommand{}, true},
		{"/nope", parsedCommand{}, true},
		{`/play "unclosed`, parsedCommand{}, true},
		{"", parsedCommand{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parseCommand(tt.text, cmds, users)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
