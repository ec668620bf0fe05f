package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/chopsticks-bot/chopsticks/tts"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// Speaker makes /say's clips; *tts.Speaker is one.
type Speaker interface {
	// Prepare checks the text, charges the user's daily quota and returns
	// the clip, spoken unless cached.
	Prepare(ctx context.Context, userID, text string) (tts.Clip, error)
	// Refund gives back a charge whose clip was not played.
	Refund(ctx context.Context, userID string, chars int)
}

// errSpeechOff is /say on a node without speech or music.
var errSpeechOff = errors.New("speech is not configured")

// Say returns /say: the text is spoken in the caller's voice channel by the
// music agent, after the current song (see package voice). m or sp nil
// (music or speech off) makes it answer so. maxChars is the longest text.
func Say(m MusicService, sp Speaker, maxChars int) []*Command {
	if maxChars <= 0 {
		maxChars = tts.DefaultMaxChars
	}
	s := &say{m: m, sp: sp}
	return []*Command{{Name: "say", Description: "Speak text in your voice channel (after the current song)",
		Options: []Option{{Name: "text", Description: "What to say", Type: String, Required: true, MinLength: 1, MaxLength: maxChars}},
		Run:     s.run, Writes: true}}
}

type say struct {
	m  MusicService
	sp Speaker
}

func (s *say) run(ctx context.Context, inv *Invocation) (Reply, error) {
	if s.m == nil || s.sp == nil {
		return Reply{}, Explain(errSpeechOff, "Speech isn't set up on this bot yet (the operator sets up music and TTS_PROVIDER).")
	}
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	text := inv.String("text")
	spoken, err := s.sp.Prepare(ctx, c.UserID, text)
	if err != nil {
		return Reply{}, musicFail(err)
	}
	res, err := voice.Do(ctx, s.m, voice.OpSay, voice.SayArgs{Caller: c, Clip: spoken.Key, Text: text, Length: spoken.Length})
	if err != nil {
		s.sp.Refund(ctx, c.UserID, spoken.Chars)
		return Reply{}, musicFail(err)
	}
	quoted := "“" + escapeMarkdown(clip(text, 200)) + "”"
	if res.Started {
		return musicReply("Speaking", quoted), nil
	}
	return musicReply("Speech queued", fmt.Sprintf("%s plays when the current track ends (queue position %d): speech never cuts into a song.", quoted, res.Position)), nil
}
