package commands

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chopsticks-bot/chopsticks/refusal"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// TestMusicFailShowsAnyRefusal: musicFail needs no list of the music
// refusals: any refusal in the chain is shown with its message, including
// one rebuilt from another node whose code this node does not know, and
// anything else is a failure.
func TestMusicFailShowsAnyRefusal(t *testing.T) {
	t.Parallel()
	failure := errors.New("redis: connection refused")
	tests := []struct {
		name string
		err  error
		want string // "" for a failure
	}{
		{"declared", voice.ErrNotInVoice, voice.ErrNotInVoice.Message},
		{"wrapped", fmt.Errorf("guild 1: %w", voice.ErrNoAgentFree), voice.ErrNoAgentFree.Message},
		{"with a message", voice.ErrBadArgument.With("The volume must be between 0 and 200."), "The volume must be between 0 and 200."},
		{"from a newer node", refusal.Rebuild("music_something_new", "Something new is refused."), "Something new is refused."},
		{"failure", fmt.Errorf("loading tracks: %w", failure), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := musicFail(tt.err)
			if tt.want == "" {
				if IsUserError(got) || !errors.Is(got, failure) {
					t.Fatalf("failure became %v (user error %v)", got, IsUserError(got))
				}
				return
			}
			if !IsUserError(got) || got.Error() != tt.want {
				t.Fatalf("got %q (user error %v), want %q", got, IsUserError(got), tt.want)
			}
		})
	}
}
