// Package tts is /say's speech: the providers that turn text into WAV audio
// (espeak-ng on the machine, or ElevenLabs' HTTP API), the cache of spoken
// clips in Redis keyed by a hash of the voice and the text (a repeated phrase
// costs nothing), the per-user daily character quota, the checks on the text,
// and the short-lived signed URLs through which a node serves a clip to
// Lavalink.
package tts

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// Provider turns text into speech.
type Provider interface {
	// Name identifies the provider and Voice the voice it speaks with; both
	// are part of a clip's cache key, so changing either speaks anew.
	Name() string
	Voice() string
	// Synthesize returns text spoken, as a WAV file (RIFF, PCM).
	Synthesize(ctx context.Context, text string) ([]byte, error)
}

// The refusals of /say: the request changed nothing and the message is for
// the user. Codes are global (package refusal), hence the "tts_" prefix.
var (
	ErrTextEmpty   = refusal.New("tts_text_empty", "Give me something to say.")
	ErrTextTooLong = refusal.New("tts_text_too_long", "That is too long to say.")
	ErrTextInvalid = refusal.New("tts_text_invalid", "That text has characters I cannot say.")
	ErrQuota       = refusal.New("tts_quota", "You have used today's speech allowance; it renews at midnight UTC.")
	// ErrUnavailable is the provider failing (down, refusing our key, out
	// of credit): the user is told to try later; the node logs the cause.
	ErrUnavailable = refusal.New("tts_unavailable", "Speech is unavailable right now; try again later.")
)

// DefaultMaxChars is the default length limit of one /say, in characters.
const DefaultMaxChars = 200

// CleanText checks text for /say and returns it with white space runs made
// single spaces: empty text, text over maxChars characters (runes), invalid
// UTF-8 and control or private-use characters are refused.
func CleanText(text string, maxChars int) (string, error) {
	if !utf8.ValidString(text) {
		return "", ErrTextInvalid
	}
	clean := strings.Join(strings.Fields(text), " ")
	if clean == "" {
		return "", ErrTextEmpty
	}
	for _, r := range clean {
		if unicode.IsControl(r) || unicode.Is(unicode.Co, r) || r == utf8.RuneError {
			return "", ErrTextInvalid.Withf("That text has a character I cannot say (%U).", r)
		}
	}
	if n := utf8.RuneCountInString(clean); n > maxChars {
		return "", ErrTextTooLong.Withf("That is %d characters; /say takes at most %d.", n, maxChars)
	}
	return clean, nil
}

// errProvider marks a provider's failure, which users see as ErrUnavailable.
var errProvider = errors.New("tts provider failed")
